#!/usr/bin/env python3
"""Real components for squall's whitebox tests: sshd, libvirt's test driver, MariaDB.

    python3 scripts/whitebox.py up       # install (Debian packages), start, seed; idempotent
    python3 scripts/whitebox.py down     # stop what ``up`` started
    python3 scripts/whitebox.py status   # exit 0 when everything answers

Everything lives under ``target/squall-whitebox/``:

* ``ssh/``: a throwaway host key, a user key, ``known_hosts`` (plus one with a wrong key, for
  the mismatch test), and an sshd on 127.0.0.1 (own config, ``AuthorizedKeysFile`` pointing
  at the generated key, root login by key only);
* ``mariadb/``: a MariaDB on 127.0.0.1 with its own datadir, holding Nova's schema made by
  ``nova-manage api_db sync`` / ``db sync`` (PyMySQL is added to the services' venv) and
  seeded with the rows the NFV helpers read;
* ``libvirt/node.xml``: a libvirt test-driver node with pinned NFV domains, for
  ``virsh -c test:///<file>`` (libvirt-clients alone provides the test driver);
* ``compute/bin/compute-service start|stop|restart``: controls the real nova-compute of
  ``squall-compute-2`` (run by ``scripts/services.py``) over SSH; the inventory points at
  its nova.conf-dialect config file;
* ``nodes.yaml`` (the whitebox inventory) and ``env.json`` (what the tests read).

The OpenStack services (``scripts/services.py up``) must be up first: the schema is made with
their venv's nova-manage, and the compute is theirs.

Environment: ``SQUALL_WB_SSH_PORT`` (15222), ``SQUALL_WB_DB_PORT`` (15306).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BASE = REPO_ROOT / "target" / "squall-whitebox"
SERVICES = REPO_ROOT / "target" / "squall-services"
VENV = SERVICES / "venv"
HELPERS = Path(__file__).resolve().parent / "whitebox"

SSH_DIR = BASE / "ssh"
DB_DIR = BASE / "mariadb"
RUN_DIR = BASE / "run"
LOG_DIR = BASE / "logs"
LIBVIRT_DIR = BASE / "libvirt"
COMPUTE_DIR = BASE / "compute"
NOVA_DIR = BASE / "nova"

HOST = "127.0.0.1"
SSH_PORT = int(os.environ.get("SQUALL_WB_SSH_PORT", "15222"))
DB_PORT = int(os.environ.get("SQUALL_WB_DB_PORT", "15306"))
DB_USER = "squall"
DB_PASSWORD = "squall-db-pass"
#: The second compute host of scripts/services.py: whitebox tests stop and start its
#: nova-compute (the server tests run before, in other test binaries).
COMPUTE_HOST = "squall-compute-2"
COMPUTE_SERVICE = "nova-compute-2"
COMPUTE_CONF = SERVICES / "etc" / COMPUTE_SERVICE / "nova-compute.conf"
COMPUTE_PID = SERVICES / "run" / f"{COMPUTE_SERVICE}.pid"
PACKAGES = {"sshd": "openssh-server", "virsh": "libvirt-clients", "mariadbd": "mariadb-server"}
PYMYSQL = "PyMySQL==1.1.1"
SCHEMA_FORMAT = "1"


class WhiteboxError(Exception):
    """A step failed; the message says which and where its log is."""


def say(message: str) -> None:
    print(f"[whitebox] {message}", flush=True)


def run(cmd: list[str], log: Path | None = None, **kwargs) -> str:
    """Run a command; on failure raise with its output (or the log's tail)."""
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as f:
            f.write(f"$ {' '.join(map(str, cmd))}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        raise WhiteboxError(f"{' '.join(map(str, cmd))} exited {result.returncode}:\n"
                            f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result.stdout


def find(binary: str) -> str | None:
    for folder in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if (Path(folder) / binary).is_file():
            return str(Path(folder) / binary)
    return shutil.which(binary)


def ensure_packages() -> None:
    missing = [pkg for binary, pkg in PACKAGES.items() if find(binary) is None]
    if not missing:
        return
    say(f"installing Debian packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
        run(["apt-get", "update"], LOG_DIR / "apt.log", env=env)
        run(cmd, LOG_DIR / "apt.log", env=env)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def wait_port(port: int, what: str, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.2)
    tail = log.read_text()[-2000:] if log.is_file() else ""
    raise WhiteboxError(f"{what} is not listening on {HOST}:{port} after {seconds}s\n{tail}")


def read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def stop_pid(path: Path, what: str) -> None:
    pid = read_pid(path)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if read_pid(path) is None:
            break
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    path.unlink(missing_ok=True)
    say(f"stopped {what} (pid {pid})")


# -- sshd ---------------------------------------------------------------------------------

def keygen(path: Path, comment: str) -> None:
    if not path.is_file():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])


def sshd_up() -> None:
    SSH_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "wrong_host_key", "id_ed25519"):
        keygen(SSH_DIR / name, f"squall-whitebox-{name}")
    pub = (SSH_DIR / "id_ed25519.pub").read_text()
    (SSH_DIR / "authorized_keys").write_text(pub)
    for name, key in (("known_hosts", "host_key"), ("wrong_known_hosts", "wrong_host_key")):
        kind, data = (SSH_DIR / f"{key}.pub").read_text().split()[:2]
        (SSH_DIR / name).write_text(f"[{HOST}]:{SSH_PORT} {kind} {data}\n")
    config = SSH_DIR / "sshd_config"
    config.write_text("\n".join([
        f"Port {SSH_PORT}",
        f"ListenAddress {HOST}",
        f"HostKey {SSH_DIR / 'host_key'}",
        f"PidFile {RUN_DIR / 'sshd.pid'}",
        f"AuthorizedKeysFile {SSH_DIR / 'authorized_keys'}",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PrintMotd no",
        "AllowTcpForwarding yes",
        "MaxSessions 50",
        "MaxStartups 50",
        "", ]))
    if read_pid(RUN_DIR / "sshd.pid") and port_open(SSH_PORT):
        return
    if port_open(SSH_PORT):
        raise WhiteboxError(f"{HOST}:{SSH_PORT} is taken by another process; "
                            "set SQUALL_WB_SSH_PORT")
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation folder
    sshd = find("sshd") or "sshd"
    run([sshd, "-t", "-f", str(config)])
    log = LOG_DIR / "sshd.log"
    run([sshd, "-f", str(config), "-E", str(log)])
    wait_port(SSH_PORT, "sshd", log)
    say(f"sshd on {HOST}:{SSH_PORT}")


# -- MariaDB ------------------------------------------------------------------------------

def mariadb_sql(sql: str) -> str:
    return run(["mariadb", "--no-defaults", f"--socket={RUN_DIR / 'mysqld.sock'}", "-u", "root",
                "-N", "-e", sql])


def mariadb_up() -> None:
    data = DB_DIR / "data"
    log = LOG_DIR / "mariadb.log"
    if not (data / "mysql").is_dir():
        shutil.rmtree(DB_DIR, ignore_errors=True)
        data.mkdir(parents=True)
        say("initialising a MariaDB datadir")
        run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
             "--auth-root-authentication-method=socket", "--skip-test-db"], LOG_DIR / "init.log")
    if not (read_pid(RUN_DIR / "mysqld.pid") and port_open(DB_PORT)):
        if port_open(DB_PORT):
            raise WhiteboxError(f"{HOST}:{DB_PORT} is taken by another process; "
                                "set SQUALL_WB_DB_PORT")
        mariadbd = find("mariadbd") or "mariadbd"
        subprocess.Popen(
            [mariadbd, "--no-defaults", f"--datadir={data}", f"--port={DB_PORT}",
             f"--bind-address={HOST}", f"--socket={RUN_DIR / 'mysqld.sock'}",
             f"--pid-file={RUN_DIR / 'mysqld.pid'}", "--user=root", f"--log-error={log}",
             "--skip-name-resolve", "--innodb-buffer-pool-size=64M",
             "--innodb-flush-log-at-trx-commit=0", "--skip-log-bin"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        wait_port(DB_PORT, "MariaDB", log)
        say(f"MariaDB on {HOST}:{DB_PORT}")
    mariadb_sql(
        "CREATE DATABASE IF NOT EXISTS nova_api; CREATE DATABASE IF NOT EXISTS nova;"
        " CREATE DATABASE IF NOT EXISTS nova_cell0;"
        f" CREATE USER IF NOT EXISTS '{DB_USER}'@'{HOST}' IDENTIFIED BY '{DB_PASSWORD}';"
        f" GRANT ALL ON nova_api.* TO '{DB_USER}'@'{HOST}';"
        f" GRANT ALL ON nova.* TO '{DB_USER}'@'{HOST}';"
        f" GRANT ALL ON nova_cell0.* TO '{DB_USER}'@'{HOST}';")


def db_url(database: str) -> str:
    return f"mysql+pymysql://{DB_USER}:{DB_PASSWORD}@{HOST}:{DB_PORT}/{database}"


def ensure_pymysql() -> None:
    python = VENV / "bin" / "python"
    if not python.is_file():
        raise WhiteboxError(f"{python} is missing: run `python3 scripts/services.py up` first")
    if subprocess.run([str(python), "-c", "import pymysql"], capture_output=True).returncode == 0:
        return
    say(f"adding {PYMYSQL} to the services' venv")
    uv = shutil.which("uv") or str(SERVICES / "bootstrap" / "bin" / "uv")
    if Path(uv).is_file():
        run([uv, "pip", "install", "--python", str(python), PYMYSQL], LOG_DIR / "pip.log")
    else:
        run([str(python), "-m", "pip", "install", "--quiet", PYMYSQL], LOG_DIR / "pip.log")


def nova_schema() -> None:
    """Nova's schema by nova-manage against MariaDB, then the seed rows; cached by a marker."""
    marker = DB_DIR / "nova-schema"
    ensure_pymysql()
    if not (marker.is_file() and marker.read_text() == SCHEMA_FORMAT):
        NOVA_DIR.mkdir(parents=True, exist_ok=True)
        conf = NOVA_DIR / "nova.conf"
        conf.write_text(
            "[DEFAULT]\ntransport_url = fake://\n"
            f"[api_database]\nconnection = {db_url('nova_api')}\n"
            f"[database]\nconnection = {db_url('nova')}\n")
        manage = [str(VENV / "bin" / "nova-manage"), "--config-file", str(conf)]
        log = LOG_DIR / "nova-manage.log"
        say("creating Nova's schema in MariaDB with nova-manage (api_db sync, db sync)")
        run(manage + ["api_db", "sync"], log)
        if "cell0" not in run(manage + ["cell_v2", "list_cells"], log):
            run(manage + ["cell_v2", "map_cell0", "--database_connection",
                          db_url("nova_cell0")], log)
        run(manage + ["db", "sync"], log)
        marker.write_text(SCHEMA_FORMAT)
    say(run([str(VENV / "bin" / "python"), str(HELPERS / "seed_nova_db.py"), HOST, str(DB_PORT),
             DB_USER, DB_PASSWORD, "nova"]).strip())


# -- libvirt test driver ------------------------------------------------------------------

def domain(number: int, pins: dict[int, int], emulator: str) -> str:
    vcpupins = "\n".join(f"      <vcpupin vcpu='{v}' cpuset='{p}'/>" for v, p in pins.items())
    name = f"instance-{number:08x}"
    return f"""  <domain type='test'>
    <name>{name}</name>
    <uuid>a1f0c2d4-{number:04d}-4a5b-8c6d-{number:012d}</uuid>
    <memory unit='KiB'>1048576</memory>
    <memoryBacking>
      <hugepages>
        <page size='2048' unit='KiB' nodeset='0'/>
      </hugepages>
    </memoryBacking>
    <vcpu placement='static' cpuset='{','.join(str(p) for p in pins.values())}'>{len(pins)}</vcpu>
    <cputune>
{vcpupins}
      <emulatorpin cpuset='{emulator}'/>
    </cputune>
    <numatune>
      <memory mode='strict' nodeset='0'/>
      <memnode cellid='0' mode='strict' nodeset='0'/>
    </numatune>
    <os><type arch='i686'>hvm</type></os>
    <cpu>
      <numa>
        <cell id='0' cpus='0-{len(pins) - 1}' memory='1048576' unit='KiB'/>
      </numa>
    </cpu>
    <devices>
      <disk type='file' device='disk'>
        <source file='/var/lib/nova/instances/{name}/disk'/>
        <target dev='vda' bus='virtio'/>
      </disk>
      <disk type='file' device='cdrom'>
        <source file='/var/lib/nova/instances/{name}/disk.config'/>
        <target dev='hdd' bus='ide'/>
        <readonly/>
      </disk>
      <interface type='network'>
        <mac address='fa:16:3e:00:00:{number:02x}'/>
        <source network='default'/>
      </interface>
    </devices>
  </domain>"""


def libvirt_up() -> None:
    LIBVIRT_DIR.mkdir(parents=True, exist_ok=True)
    # Host: 8 CPUs; shared 0-1, dedicated 2-7 (nodes.yaml). Instances 1 and 2 are pinned
    # correctly and disjointly; instance 3 overlaps instance 2 and strays onto shared CPU 1.
    domains = [domain(1, {0: 2, 1: 3}, "2-3"), domain(2, {0: 4, 1: 5}, "4-5"),
               domain(3, {0: 5, 1: 1}, "1,5")]
    (LIBVIRT_DIR / "node.xml").write_text(
        "<node>\n  <cpu>\n    <mhz>2400</mhz>\n    <model>i686</model>\n    <active>8</active>\n"
        "    <nodes>2</nodes>\n    <sockets>1</sockets>\n    <cores>4</cores>\n"
        "    <threads>1</threads>\n  </cpu>\n  <memory>8388608</memory>\n"
        + "\n".join(domains) + "\n</node>\n")
    uri = f"test://{LIBVIRT_DIR / 'node.xml'}"
    listing = run(["virsh", "-c", uri, "list", "--all", "--name"])
    if "instance-00000001" not in listing:
        raise WhiteboxError(f"virsh -c {uri} does not list instance-00000001:\n{listing}")


# -- the compute service: a real nova-compute of scripts/services.py -----------------------

def compute_up() -> None:
    """A control script for the real nova-compute of ``COMPUTE_HOST``.

    The inventory's start/stop/restart commands run over SSH, without this environment: the
    script carries the ports of the services (``SQUALL_*``) and calls ``services.py``.
    """
    (COMPUTE_DIR / "bin").mkdir(parents=True, exist_ok=True)
    exports = "".join(f"export {key}={shlex.quote(value)}\n"
                      for key, value in sorted(os.environ.items())
                      if key.startswith("SQUALL_") and key.endswith("_PORT"))
    services = REPO_ROOT / "scripts" / "services.py"
    script = COMPUTE_DIR / "bin" / "compute-service"
    script.write_text(f"""#!/bin/sh
# start|stop|restart|status the real nova-compute on {COMPUTE_HOST} (scripts/services.py).
set -e
{exports}case "$1" in
  start|stop) exec {sys.executable} {services} "$1" {COMPUTE_SERVICE} ;;
  restart) {sys.executable} {services} stop {COMPUTE_SERVICE}
           exec {sys.executable} {services} start {COMPUTE_SERVICE} ;;
  status) [ -f {COMPUTE_PID} ] && kill -0 "$(cut -d' ' -f1 {COMPUTE_PID})" 2>/dev/null ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
""")
    script.chmod(0o755)
    if not COMPUTE_CONF.is_file():
        raise WhiteboxError(f"{COMPUTE_CONF} is missing: run `python3 scripts/services.py up`")


def write_inventory() -> None:
    uri = f"test://{LIBVIRT_DIR / 'node.xml'}"
    control = COMPUTE_DIR / "bin" / "compute-service"
    nodes = f"""# The whitebox inventory of the local test environment (scripts/whitebox.py).
ssh:
  user: root
  key: {SSH_DIR / 'id_ed25519'}
  port: {SSH_PORT}
  known_hosts: {SSH_DIR / 'known_hosts'}
  connect_timeout_secs: 10
  command_timeout_secs: 60
container_runtime: podman
sudo: false
nodes:
  {COMPUTE_HOST}:
    address: {HOST}
    libvirt_uri: {uri}
    cpu_sets: {{shared: "0-1", dedicated: "2-7"}}
    services:
      libvirt: {{}}
      nova-compute:
        config_path: {COMPUTE_CONF}
        start: {control} start
        stop: {control} stop
        restart: {control} restart
"""
    (BASE / "nodes.yaml").write_text(nodes)
    env = {
        "nodes_file": str(BASE / "nodes.yaml"),
        "compute_host": COMPUTE_HOST,
        "ssh": {"host": HOST, "port": SSH_PORT, "user": "root",
                "key": str(SSH_DIR / "id_ed25519"),
                "known_hosts": str(SSH_DIR / "known_hosts"),
                "wrong_known_hosts": str(SSH_DIR / "wrong_known_hosts"),
                "host_public_key": (SSH_DIR / "host_key.pub").read_text().strip()},
        "libvirt_uri": uri,
        "db": {"host": HOST, "port": DB_PORT, "user": DB_USER, "password": DB_PASSWORD,
               "database": "nova", "api_database": "nova_api"},
        "compute": {"config_path": str(COMPUTE_CONF),
                    "pid_file": str(COMPUTE_PID),
                    "log": str(SERVICES / "logs" / f"{COMPUTE_SERVICE}.log")},
    }
    (BASE / "env.json").write_text(json.dumps(env, indent=2) + "\n")


# -- commands -----------------------------------------------------------------------------

def up() -> int:
    started = time.monotonic()
    for folder in (BASE, RUN_DIR, LOG_DIR):
        folder.mkdir(parents=True, exist_ok=True)
    ensure_packages()
    sshd_up()
    mariadb_up()
    nova_schema()
    libvirt_up()
    compute_up()
    write_inventory()
    say(f"up in {time.monotonic() - started:.1f}s; inventory {BASE / 'nodes.yaml'}, "
        f"environment {BASE / 'env.json'}")
    return 0


def down() -> int:
    # The nova-compute belongs to scripts/services.py, which stops it.
    stop_pid(RUN_DIR / "sshd.pid", "sshd")
    stop_pid(RUN_DIR / "mysqld.pid", "MariaDB")
    return 0


def status() -> int:
    checks = {
        f"sshd {HOST}:{SSH_PORT}": read_pid(RUN_DIR / "sshd.pid") is not None
        and port_open(SSH_PORT),
        f"MariaDB {HOST}:{DB_PORT}": read_pid(RUN_DIR / "mysqld.pid") is not None
        and port_open(DB_PORT),
        "libvirt test node": (LIBVIRT_DIR / "node.xml").is_file(),
        "env.json": (BASE / "env.json").is_file(),
    }
    for name, ok in checks.items():
        print(f"  {name:28} {'up' if ok else 'DOWN'}")
    return 0 if all(checks.values()) else 1


def main(argv: list[str]) -> int:
    commands = {"up": up, "down": down, "status": status}
    if len(argv) != 1 or argv[0] not in commands:
        print(f"usage: {sys.argv[0]} {'|'.join(commands)}", file=sys.stderr)
        return 2
    try:
        return commands[argv[0]]()
    except WhiteboxError as error:
        print(f"[whitebox] error: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
