"""Nova: the API (gunicorn), nova-conductor, nova-scheduler and one nova-compute per host.

The computes run Nova's fake virt driver (``fake.FakeDriverWithoutFakeNodes``: a stable node
identity, so a compute can restart).  Nova's databases live on MariaDB (on SQLite they lock
across processes), and its RPC goes through RabbitMQ.
"""

from __future__ import annotations

import time

from . import mariadb
from .config import COMPUTE_HOSTS, ETC_DIR, HOST, LOG_DIR, STATE_DIR, VENV_DIR, \
    ServicesError, Service, Settings, render_ini
from .keystone import keystone_authtoken, keystone_service_credentials
from .util import expect, http, run_logged, say

STATE = STATE_DIR / "nova"
#: How often a nova service reports its state, and after how long without a report it is down.
#: Short, so that a test that stops a compute sees it down within seconds.
REPORT_INTERVAL = 2
SERVICE_DOWN_TIME = 10

#: Flavors that fit the fake driver's node (8 vCPUs, 8000 MB, 500 GB): name -> (id, RAM MB,
#: vCPUs, disk GB).  Two, so that a resize has somewhere to go.
FLAVORS = {
    "squall.tiny": ("squall-tiny", 64, 1, 1),
    "squall.small": ("squall-small", 128, 1, 2),
}


def nova_config(settings: Settings) -> dict[str, str]:
    """The configuration folder of the API, the conductor and the scheduler."""
    conf = {
        "DEFAULT": {
            "debug": False,
            "transport_url": settings.transport_url,
            "state_path": STATE,
            "host": "squall",
            "my_ip": HOST,
            "report_interval": REPORT_INTERVAL,
            "service_down_time": SERVICE_DOWN_TIME,
            "allow_resize_to_same_host": True,
            "compute_driver": "fake.FakeDriverWithoutFakeNodes",
        },
        "api": {"auth_strategy": "keystone"},
        "wsgi": {"api_paste_config": ETC_DIR / "nova" / "api-paste.ini"},
        "api_database": {"connection": settings.db_url("nova_api")},
        "database": {"connection": settings.db_url("nova")},
        "conductor": {"workers": 1},
        "scheduler": {"workers": 1, "discover_hosts_in_cells_interval": -1},
        "oslo_concurrency": {"lock_path": STATE / "locks"},
        "oslo_messaging_notifications": {"driver": "noop"},
        "keystone_authtoken": keystone_authtoken(settings),
        "placement": keystone_service_credentials(settings),
        "neutron": {**keystone_service_credentials(settings),
                    "service_metadata_proxy": False},
        "glance": {"region_name": "RegionOne"},
        "vnc": {"enabled": False},
        "spice": {"enabled": False},
    }
    return {"nova.conf": render_ini(conf), "api-paste.ini": nova_api_paste()}


def compute_config(host: str) -> dict[str, str]:
    """One compute's additions to nova.conf: its host name and state folder."""
    conf = {
        "DEFAULT": {
            "host": host,
            "state_path": STATE / host,
            "compute_driver": "fake.FakeDriverWithoutFakeNodes",
        },
        "oslo_concurrency": {"lock_path": STATE / host / "locks"},
    }
    return {"nova-compute.conf": render_ini(conf)}


def nova_api_paste() -> str:
    """The api-paste.ini shipped with Nova, read from the venv."""
    candidates = [VENV_DIR / "etc" / "nova" / "api-paste.ini"]
    candidates += sorted(VENV_DIR.glob("lib/python*/site-packages/etc/nova/api-paste.ini"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate.read_text()
    raise ServicesError(f"cannot find Nova's api-paste.ini under {VENV_DIR}")


def compute_service_name(host: str) -> str:
    """The service (pid file, log) name of a compute: ``nova-compute-1`` for the first host."""
    return f"nova-compute-{COMPUTE_HOSTS.index(host) + 1}"


def services(settings: Settings, with_config: bool) -> list[Service]:
    """The API, the conductor, the scheduler and the computes, in start order."""
    conf_file = str(ETC_DIR / "nova" / "nova.conf")
    bin_dir = VENV_DIR / "bin"
    found = [
        Service("nova", settings.nova_port, "/", nova_config(settings) if with_config else {},
                "squall_wsgi_nova:application", "OS_NOVA_CONFIG_DIR"),
        Service("nova-conductor", 0, "", {}, probe="process",
                command=(str(bin_dir / "nova-conductor"), "--config-file", conf_file)),
        Service("nova-scheduler", 0, "", {}, probe="process",
                command=(str(bin_dir / "nova-scheduler"), "--config-file", conf_file)),
    ]
    for host in COMPUTE_HOSTS:
        name = compute_service_name(host)
        found.append(Service(
            name, 0, "", compute_config(host) if with_config else {}, probe="process",
            command=(str(bin_dir / "nova-compute"), "--config-file", conf_file,
                     "--config-file", str(ETC_DIR / name / "nova-compute.conf"))))
    return found


def init_nova(settings: Settings) -> None:
    """Nova's API and cell databases on MariaDB, cell0 and cell1 (which uses RabbitMQ)."""
    log = LOG_DIR / "init-nova.log"
    (STATE / "locks").mkdir(parents=True, exist_ok=True)
    for host in COMPUTE_HOSTS:
        (STATE / host / "locks").mkdir(parents=True, exist_ok=True)
    manage = [str(VENV_DIR / "bin" / "nova-manage"),
              "--config-file", str(ETC_DIR / "nova" / "nova.conf")]
    run_logged(manage + ["api_db", "sync"], log)
    run_logged(manage + ["cell_v2", "map_cell0", "--database_connection",
                         settings.db_url("nova_cell0")], log)
    run_logged(manage + ["db", "sync"], log)
    run_logged(manage + ["cell_v2", "create_cell", "--name", "cell1"], log)


def wait_for_nova_services(settings: Settings, token: str, deadline: float) -> None:
    """Wait until the conductor, the scheduler and every compute report up in os-services."""
    wanted = {("nova-conductor", "squall"), ("nova-scheduler", "squall")}
    wanted |= {("nova-compute", host) for host in COMPUTE_HOSTS}
    last: object = None
    while True:
        response = http("GET", f"{settings.compute_url}/os-services",
                        headers={"X-Auth-Token": token})
        if response.status == 200:
            rows = response.json()["services"]
            up = {(row["binary"], row["host"]) for row in rows
                  if row["state"] == "up" and row["status"] == "enabled"}
            if wanted <= up:
                return
            last = sorted(wanted - up)
        else:
            last = f"HTTP {response.status}"
        if time.monotonic() > deadline:
            raise ServicesError(f"Nova services not up in time; missing: {last}; see "
                                f"{LOG_DIR}/nova-*.log")
        time.sleep(0.5)


def discover_hosts(settings: Settings) -> None:
    """Map both compute hosts into cell1 (nova-manage, only when one is unmapped)."""
    del settings
    mapped = set(mariadb.sql("SELECT host FROM nova_api.host_mappings").split())
    if set(COMPUTE_HOSTS) <= mapped:
        return
    say("discovering the compute hosts (nova-manage cell_v2 discover_hosts)")
    run_logged([str(VENV_DIR / "bin" / "nova-manage"), "--config-file",
                str(ETC_DIR / "nova" / "nova.conf"), "cell_v2", "discover_hosts"],
               LOG_DIR / "init-nova.log")
    mapped = set(mariadb.sql("SELECT host FROM nova_api.host_mappings").split())
    if not set(COMPUTE_HOSTS) <= mapped:
        raise ServicesError(f"discover_hosts mapped only {sorted(mapped)}")


def ensure_flavors(settings: Settings, token: str) -> dict[str, str]:
    """The flavors of :data:`FLAVORS` (idempotent); returns name -> id."""
    headers = {"X-Auth-Token": token}
    existing = expect(http("GET", f"{settings.compute_url}/flavors", headers=headers),
                      (200,), "listing flavors").json()["flavors"]
    have = {flavor["id"] for flavor in existing}
    for name, (flavor_id, ram, vcpus, disk) in FLAVORS.items():
        if flavor_id in have:
            continue
        expect(http("POST", f"{settings.compute_url}/flavors", headers=headers, body={
            "flavor": {"name": name, "id": flavor_id, "ram": ram, "vcpus": vcpus,
                       "disk": disk}}), (200,), f"creating flavor {name}")
    return {name: spec[0] for name, spec in FLAVORS.items()}
