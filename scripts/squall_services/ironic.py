"""Ironic standalone: API and conductor in one process, fake hardware, no auth, no RPC."""

from __future__ import annotations

from .config import HOST, STATE_DIR, Settings, render_ini, sqlite_url

def ironic_config(settings: Settings) -> dict[str, str]:
    """Ironic's configuration: standalone, noauth, fake hardware, no RPC."""
    state = STATE_DIR / "ironic"
    fake_or_none = {
        "boot": "fake",
        "deploy": "fake",
        "management": "fake",
        "power": "fake",
        "inspect": "fake,no-inspect",
        "console": "fake,no-console",
        "raid": "fake,no-raid",
        "vendor": "fake,no-vendor",
        "bios": "fake,no-bios",
        "rescue": "fake,no-rescue",
        "firmware": "fake,no-firmware",
        "network": "noop",
        "storage": "noop",
    }
    default = {
        "debug": False,
        "auth_strategy": "noauth",
        "rpc_transport": "none",
        "host": "squall",
        "state_path": state,
        "enabled_hardware_types": "fake-hardware",
    }
    default.update({f"enabled_{kind}_interfaces": value for kind, value in fake_or_none.items()})
    conf = {
        "DEFAULT": default,
        "api": {"host_ip": HOST, "port": settings.ironic_port},
        "database": {"connection": sqlite_url(state / "ironic.db")},
        "dhcp": {"dhcp_provider": "none"},
        "conductor": {"automated_clean": False},
        "oslo_concurrency": {"lock_path": state / "locks"},
        "oslo_messaging_notifications": {"driver": "noop"},
    }
    return {"ironic.conf": render_ini(conf)}


