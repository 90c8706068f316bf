"""RabbitMQ (Debian's rabbitmq-server) for Nova's RPC, bound to 127.0.0.1.

``/usr/lib/rabbitmq/bin/rabbitmq-server`` runs directly (the ``/usr/sbin`` wrapper switches
user).  epmd runs as its own service in the foreground on its own port, so that the broker
finds it instead of starting a detached one, and so that `down` stops it by its pid.  Every
port comes from the settings, so two clouds on one machine do not clash.
"""

from __future__ import annotations

from .config import HOST, STATE_DIR, Service, Settings

BASE = STATE_DIR / "rabbitmq"
NODENAME = "squall@localhost"


def erlang_env(settings: Settings) -> dict[str, str]:
    """The environment epmd and the broker share."""
    return {
        "ERL_EPMD_PORT": str(settings.epmd_port),
        "ERL_EPMD_ADDRESS": HOST,
        "HOME": str(BASE / "home"),
    }


def epmd_service(settings: Settings) -> Service:
    """Erlang's port mapper, in the foreground."""
    return Service("epmd", settings.epmd_port, "", {}, probe="tcp", infrastructure=True,
                   env=erlang_env(settings),
                   command=("/usr/bin/epmd", "-address", HOST, "-port", str(settings.epmd_port)))


def config_files(settings: Settings) -> dict[str, str]:
    """rabbitmq.conf and an empty enabled-plugins file."""
    conf = "\n".join([
        f"listeners.tcp.default = {HOST}:{settings.rabbit_port}",
        f"distribution.listener.interface = {HOST}",
        f"distribution.listener.port_range.min = {settings.rabbit_dist_port}",
        f"distribution.listener.port_range.max = {settings.rabbit_dist_port}",
        "loopback_users = none",
        "log.console = true",
        "log.file = false",
        "",
    ])
    return {"rabbitmq.conf": conf, "enabled_plugins": "[].\n"}


def service(settings: Settings) -> Service:
    """The broker (``rabbitmq-server`` run directly, as root)."""
    from .config import ETC_DIR

    etc = ETC_DIR / "rabbitmq"
    env = {
        **erlang_env(settings),
        "RABBITMQ_NODENAME": NODENAME,
        "RABBITMQ_NODE_IP_ADDRESS": HOST,
        "RABBITMQ_NODE_PORT": str(settings.rabbit_port),
        "RABBITMQ_DIST_PORT": str(settings.rabbit_dist_port),
        "RABBITMQ_CONFIG_FILE": str(etc / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(etc / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(BASE / "mnesia"),
        "RABBITMQ_LOG_BASE": str(BASE / "log"),
        "RABBITMQ_PID_FILE": str(BASE / "rabbit.pid"),
    }
    return Service("rabbitmq", settings.rabbit_port, "", config_files(settings), probe="tcp",
                   infrastructure=True, env=env,
                   command=("/usr/lib/rabbitmq/bin/rabbitmq-server",))


def prepare() -> None:
    """The broker's folders."""
    for folder in ("home", "mnesia", "log"):
        (BASE / folder).mkdir(parents=True, exist_ok=True)
