"""Placement, served by gunicorn behind keystonemiddleware, on SQLite."""

from __future__ import annotations

from .config import LOG_DIR, STATE_DIR, VENV_DIR, Service, Settings, render_ini, sqlite_url
from .keystone import keystone_authtoken
from .util import run_logged

def placement_config(settings: Settings) -> dict[str, str]:
    """Placement's configuration folder."""
    conf = {
        "DEFAULT": {"debug": False},
        "api": {"auth_strategy": "keystone"},
        "placement_database": {
            "connection": sqlite_url(STATE_DIR / "placement" / "placement.db"),
            "sync_on_startup": True,
        },
        "keystone_authtoken": keystone_authtoken(settings),
    }
    return {"placement.conf": render_ini(conf)}



def init_placement_and_ironic(placement: Service, ironic: Service) -> None:
    """Placement's database (synced here once, not racily by two workers) and Ironic's."""
    log = LOG_DIR / "init-placement.log"
    (STATE_DIR / "placement").mkdir(parents=True, exist_ok=True)
    run_logged([str(VENV_DIR / "bin" / "placement-manage"),
                "--config-file", str(placement.config_dir / "placement.conf"),
                "db", "sync"], log)
    log = LOG_DIR / "init-ironic.log"
    (STATE_DIR / "ironic" / "locks").mkdir(parents=True, exist_ok=True)
    run_logged([str(VENV_DIR / "bin" / "ironic-dbsync"),
                "--config-file", str(ironic.config_dir / "ironic.conf"),
                "create_schema"], log)


