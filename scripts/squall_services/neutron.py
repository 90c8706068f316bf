"""Neutron (the real API, ML2 with no agents and no mechanism driver), served as WSGI.

Nova's server views always ask Neutron for ports, so show, detail and delete need it; servers
boot with ``networks: none``.  Neutron runs RPC-less (``transport_url = fake://``: no agents)
on the services' MariaDB (its migrations ALTER constraints, which SQLite cannot).
"""

from __future__ import annotations

from .config import ETC_DIR, LOG_DIR, STATE_DIR, VENV_DIR, ServicesError, Service, Settings, \
    render_ini
from .keystone import keystone_authtoken, keystone_service_credentials
from .util import run_logged

STATE = STATE_DIR / "neutron"
CONFIG_FILES = ("neutron.conf", "ml2_conf.ini")


def config(settings: Settings) -> dict[str, str]:
    """neutron.conf, ml2_conf.ini and the package's api-paste.ini."""
    neutron = {
        "DEFAULT": {
            "debug": False,
            "core_plugin": "ml2",
            "service_plugins": "",
            "auth_strategy": "keystone",
            # No agents, so no RPC; left unset, writes hang retrying a broker.
            "transport_url": "fake://",
            "notify_nova_on_port_status_changes": False,
            "notify_nova_on_port_data_changes": False,
            "state_path": STATE,
            "api_paste_config": ETC_DIR / "neutron" / "api-paste.ini",
        },
        "database": {"connection": settings.db_url("neutron")},
        "keystone_authtoken": keystone_authtoken(settings),
        # Without it a network delete logs a traceback.
        "placement": keystone_service_credentials(settings),
        "oslo_concurrency": {"lock_path": STATE / "locks"},
        "oslo_messaging_notifications": {"driver": "noop"},
    }
    ml2 = {
        "ml2": {
            "type_drivers": "flat,local",
            "tenant_network_types": "local",
            "mechanism_drivers": "",
            "extension_drivers": "port_security",
        },
        "ml2_type_flat": {"flat_networks": "*"},
    }
    return {"neutron.conf": render_ini(neutron), "ml2_conf.ini": render_ini(ml2),
            "api-paste.ini": api_paste()}


def api_paste() -> str:
    """The api-paste.ini shipped with Neutron, read from the venv."""
    candidate = VENV_DIR / "etc" / "neutron" / "api-paste.ini"
    if candidate.is_file():
        return candidate.read_text()
    raise ServicesError(f"cannot find Neutron's api-paste.ini under {VENV_DIR}")


def service(settings: Settings, with_config: bool) -> Service:
    """The Neutron API under gunicorn."""
    return Service(
        "neutron", settings.neutron_port, "/", config(settings) if with_config else {},
        "squall_wsgi_neutron:application", "OS_NEUTRON_CONFIG_DIR",
        env={"OS_NEUTRON_CONFIG_FILES": ";".join(CONFIG_FILES)})


def init(settings: Settings) -> None:
    """Neutron's schema (neutron-db-manage upgrade heads, ~7 s)."""
    del settings
    (STATE / "locks").mkdir(parents=True, exist_ok=True)
    etc = ETC_DIR / "neutron"
    run_logged([str(VENV_DIR / "bin" / "neutron-db-manage"),
                "--config-file", str(etc / "neutron.conf"),
                "--config-file", str(etc / "ml2_conf.ini"), "upgrade", "heads"],
               LOG_DIR / "init-neutron.log")
