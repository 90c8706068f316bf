"""Service processes: start detached, record by pid (with start time), stop by process group."""

from __future__ import annotations

import hashlib
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable

from .config import HOST, LOG_DIR, RUN_DIR, STATE_DIR, VENV_DIR, WSGI_DIR, BASE_DIR, \
    ServicesError, Service, Settings
from .util import http, port_in_use, say, service_env, tail


#: Processes started by this invocation, so they can be reaped when stopped.
_CHILDREN: dict[int, subprocess.Popen] = {}
#: Size of each service's log when this invocation started it.
_LOG_OFFSETS: dict[str, int] = {}


def read_pid(service: Service) -> int | None:
    """The pid recorded for a service if that process still lives, else None.

    The pid file holds the pid and the process's start time, so that a pid
    reused by an unrelated process is never taken for ours, then the hash of
    the command line it was started with.
    """
    try:
        pid_text, started, _ = service.pid_file.read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    return pid if process_start_time(pid) == started else None


def started_with(service: Service) -> str | None:
    """The command hash recorded when the running service was started."""
    try:
        return service.pid_file.read_text().split()[2]
    except (OSError, IndexError):
        return None


def process_start_time(pid: int) -> str | None:
    """A live (non-zombie) process's start time from /proc, or None."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None
    # fields[0] is field 3 of stat(5) (the state); the start time is field 22.
    return None if fields[0] in ("Z", "X") else fields[19]


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a live, non-zombie process."""
    return process_start_time(pid) is not None


def running_pid(service: Service) -> int | None:
    """The pid of a service's live process; a stale pid file is removed."""
    pid = read_pid(service)
    if pid is None:
        service.pid_file.unlink(missing_ok=True)
    return pid


def answering(service: Service, timeout: float = 3.0) -> bool:
    """Whether the service is ready, as its probe says (see :class:`Service`).

    An HTTP service must answer its version document (over TLS, trusting its test CA).
    """
    if service.probe == "process":
        return read_pid(service) is not None
    if service.probe == "tcp":
        return port_in_use(service.port)
    if service.scheme == "https":
        ca = STATE_DIR / "tls" / "ca.pem"
        if not ca.is_file():
            return False
        context = ssl.create_default_context(cafile=str(ca))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=context))
        try:
            with opener.open(service.root_url, timeout=timeout) as reply:
                return reply.status in (200, 300)
        except urllib.error.HTTPError as error:
            return error.code in (200, 300)
        except OSError:
            return False
    try:
        response = http("GET", service.root_url, timeout=timeout)
    except OSError:
        return False
    return response.status in (200, 300)



def launch_command(service: Service, settings: Settings) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run a service."""
    bin_dir = VENV_DIR / "bin"
    if service.wsgi_target:
        # See the module docstring for why Keystone gets one plain worker.
        workers, threads = (1, 1) if service.name.startswith("keystone") else (
            settings.workers, settings.threads)
        cmd = [
            str(bin_dir / "gunicorn"),
            "--bind", f"{HOST}:{service.port}",
            "--workers", str(workers),
            "--threads", str(threads),
            "--timeout", "120",
            "--graceful-timeout", "10",
            "--pythonpath", str(WSGI_DIR),
            "--name", f"squall-{service.name}",
            "--access-logfile", "-",
            "--no-control-socket",
            service.wsgi_target,
        ]
        return cmd, service_env({service.config_dir_env: str(service.config_dir),
                                 **service.env})
    if service.command:
        return list(service.command), service_env(service.env)
    cmd = [str(bin_dir / "ironic"), "--config-file", str(service.config_dir / "ironic.conf")]
    return cmd, service_env()


def command_hash(service: Service, settings: Settings) -> str:
    """A short hash of how a service is launched, to notice when that changes."""
    cmd, _ = launch_command(service, settings)
    return hashlib.sha256("\0".join(cmd).encode()).hexdigest()[:16]


def start_service(service: Service, settings: Settings) -> int:
    """Start a service detached from this process; return its pid."""
    if service.port and port_in_use(service.port):
        raise ServicesError(
            f"port {service.port} for {service.name} is already in use by another process; "
            f"stop it or set SQUALL_{service.name.upper()}_PORT"
        )
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    cmd, env = launch_command(service, settings)
    with service.log_file.open("a") as log:
        log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(cmd)}\n")
        log.flush()
        _LOG_OFFSETS[service.name] = log.tell()
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=env, cwd=BASE_DIR,
                                 start_new_session=True)
    _CHILDREN[child.pid] = child
    service.pid_file.write_text(
        f"{child.pid} {process_start_time(child.pid)} {command_hash(service, settings)}\n")
    return child.pid


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group is left (reaping our own children)."""
    child = _CHILDREN.get(pgid)
    if child is not None:
        child.poll()
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Only a zombie leader may be left: a group of zombies is gone for us.
    return process_alive(pgid) or _group_has_live_members(pgid)


def _group_has_live_members(pgid: int) -> bool:
    """Whether a non-zombie process with this process group exists."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def stop_services(targets: Iterable[Service], *, quiet: bool = False) -> list[str]:
    """Stop services' process groups: SIGTERM to all, wait, then SIGKILL.

    The services stop in parallel.  Pid files are removed, stale ones too.
    Returns the names of the services that were running.
    """
    running: dict[int, Service] = {}
    for service in targets:
        pid = running_pid(service)
        if pid is not None:
            running[pid] = service
            if not quiet:
                say(f"stopping {service.name} (pid {pid})")
    for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        for pid in running:
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_group_alive(pid) for pid in running):
            time.sleep(0.1)
        if not any(_group_alive(pid) for pid in running):
            break
    for pid, service in running.items():
        _CHILDREN.pop(pid, None)
        service.pid_file.unlink(missing_ok=True)
    return [service.name for service in running.values()]


def worker_crashed(service: Service) -> bool:
    """Whether a gunicorn worker of the service died since we started it.

    gunicorn restarts a worker that fails to load the application forever,
    so the master stays alive: its log is the only sign.
    """
    offset = _LOG_OFFSETS.get(service.name)
    if offset is None or service.wsgi_target is None:
        return False
    try:
        with service.log_file.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return False
    return "] Worker (pid:" in text and "exited with code" in text


def wait_until_answering(targets: list[Service], deadline: float) -> dict[str, float]:
    """Wait for services to answer before ``deadline`` (monotonic time).

    Returns the seconds each one took.  On failure (the process died, a
    worker crashed, or the time ran out) raises with the tail of the log.
    """
    started = time.monotonic()
    pending = list(targets)
    took: dict[str, float] = {}
    while pending:
        for service in list(pending):
            problem = ("exited before answering" if read_pid(service) is None
                       else "has a crashing worker" if worker_crashed(service) else None)
            if problem:
                raise ServicesError(
                    f"{service.name} {problem}\n"
                    f"--- last lines of {service.log_file} ---\n{tail(service.log_file)}"
                )
            if answering(service):
                took[service.name] = time.monotonic() - started
                pending.remove(service)
        if not pending:
            break
        if time.monotonic() > deadline:
            names = ", ".join(s.name for s in pending)
            logs = "\n".join(
                f"--- last lines of {s.log_file} ---\n{tail(s.log_file)}" for s in pending
            )
            raise ServicesError(f"timed out waiting for {names} to answer\n{logs}")
        time.sleep(0.5)
    return took


