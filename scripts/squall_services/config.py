"""Constants, settings and the description of one service process."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_DIR = REPO_ROOT / "target" / "squall-services"
VENV_DIR = BASE_DIR / "venv"
BOOTSTRAP_DIR = BASE_DIR / "bootstrap"
STATE_DIR = BASE_DIR / "state"
ETC_DIR = BASE_DIR / "etc"
WSGI_DIR = BASE_DIR / "wsgi"
LOG_DIR = BASE_DIR / "logs"
RUN_DIR = BASE_DIR / "run"
CLOUD_JSON = BASE_DIR / "cloud.json"
CLOUDS_YAML = BASE_DIR / "clouds.yaml"
CONSTRAINTS_FILE = REPO_ROOT / "scripts" / "services" / "constraints.txt"

INSTALL_MARKER = VENV_DIR / ".squall-installed"
INIT_MARKER = STATE_DIR / "initialised"

#: Packages installed into the services' virtualenv.  The services are
#: pinned; everything else is held by ``scripts/services/constraints.txt``
#: when that file exists.
PINNED_PACKAGES = (
    "keystone==30.0.0",
    "openstack-placement==16.0.0",
    "nova==34.0.0",
    "ironic==39.0.0",
    "glance==33.0.0",
    "neutron==29.0.0",
    "PyMySQL==1.1.1",
    "gunicorn",
    # oslo.cache loads every cache backend at start and logs an ERROR for
    # the memcache one without it, although none is used.
    "python-memcached",
)

HOST = "127.0.0.1"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "squall-admin-pass"
ADMIN_PROJECT = "admin"
ADMIN_ROLE = "admin"
DEFAULT_DOMAIN = "Default"
REGION = "RegionOne"
CLOUD_NAME = "squall"

#: Bump to force a re-initialisation of cached state on every machine.
STATE_FORMAT = 2

DEFAULT_TOKEN_EXPIRATION = 3600
DEFAULT_WAIT_SECONDS = 120.0
HTTP_TIMEOUT = 10.0

INTERFACES = ("public", "internal", "admin")

#: MariaDB account of Nova's and Neutron's databases.
DB_USER = "squall"
DB_PASSWORD = "squall-db-pass"
#: The databases the MariaDB of the services holds.
DATABASES = ("nova_api", "nova_cell0", "nova", "neutron")
#: The nova-compute hosts (fake virt driver), one nova-compute process each.
COMPUTE_HOSTS = ("squall-compute-1", "squall-compute-2")





class ServicesError(Exception):
    """A failure that ends the command with a message and a non-zero exit."""


def _env_int(name: str, default: int) -> int:
    """Read an integer environment variable, with a clear error if malformed."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ServicesError(f"{name} must be an integer, got {raw!r}") from None


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything configurable from the environment."""

    keystone_port: int
    placement_port: int
    nova_port: int
    ironic_port: int
    token_expiration: int
    keystone_short_port: int
    tls_port: int
    short_token_expiration: int
    workers: int
    threads: int
    wait_seconds: float
    rabbit_port: int
    epmd_port: int
    rabbit_dist_port: int
    mariadb_port: int
    glance_port: int
    neutron_port: int

    @classmethod
    def from_env(cls) -> "Settings":
        """Build the settings from ``SQUALL_*`` environment variables."""
        workers = _env_int("SQUALL_SERVICE_WORKERS", 1)
        return cls(
            keystone_port=_env_int("SQUALL_KEYSTONE_PORT", 15000),
            placement_port=_env_int("SQUALL_PLACEMENT_PORT", 15001),
            nova_port=_env_int("SQUALL_NOVA_PORT", 15002),
            ironic_port=_env_int("SQUALL_IRONIC_PORT", 15003),
            token_expiration=_env_int("SQUALL_TOKEN_EXPIRATION", DEFAULT_TOKEN_EXPIRATION),
            keystone_short_port=_env_int("SQUALL_KEYSTONE_SHORT_PORT", 15004),
            tls_port=_env_int("SQUALL_TLS_PORT", 15005),
            short_token_expiration=_env_int("SQUALL_SHORT_TOKEN_EXPIRATION", 20),
            workers=min(max(workers, 1), 2),
            threads=max(_env_int("SQUALL_SERVICE_THREADS", 1), 1),
            wait_seconds=float(_env_int("SQUALL_SERVICES_TIMEOUT", int(DEFAULT_WAIT_SECONDS))),
            rabbit_port=_env_int("SQUALL_RABBIT_PORT", 15006),
            epmd_port=_env_int("SQUALL_EPMD_PORT", 15007),
            rabbit_dist_port=_env_int("SQUALL_RABBIT_DIST_PORT", 15008),
            mariadb_port=_env_int("SQUALL_MARIADB_PORT", 15009),
            glance_port=_env_int("SQUALL_GLANCE_PORT", 15010),
            neutron_port=_env_int("SQUALL_NEUTRON_PORT", 15011),
        )

    # Public URLs, as registered in the catalog and written to cloud.json.
    @property
    def identity_url(self) -> str:
        return f"http://{HOST}:{self.keystone_port}/v3"

    @property
    def compute_url(self) -> str:
        return f"http://{HOST}:{self.nova_port}/v2.1"

    @property
    def placement_url(self) -> str:
        return f"http://{HOST}:{self.placement_port}"

    @property
    def baremetal_url(self) -> str:
        return f"http://{HOST}:{self.ironic_port}"

    @property
    def image_url(self) -> str:
        return f"http://{HOST}:{self.glance_port}"

    @property
    def network_url(self) -> str:
        return f"http://{HOST}:{self.neutron_port}"

    @property
    def transport_url(self) -> str:
        """oslo.messaging's URL of the RabbitMQ broker."""
        return f"rabbit://guest:guest@{HOST}:{self.rabbit_port}/"

    def db_url(self, database: str) -> str:
        """An SQLAlchemy URL of a database on the services' MariaDB."""
        return f"mysql+pymysql://{DB_USER}:{DB_PASSWORD}@{HOST}:{self.mariadb_port}/{database}"

    @property
    def short_identity_url(self) -> str:
        return f"http://{HOST}:{self.keystone_short_port}/v3"

    @property
    def tls_url(self) -> str:
        return f"https://{HOST}:{self.tls_port}"


@dataclasses.dataclass(frozen=True)
class Service:
    """One service process that `up` starts and `down` stops."""

    name: str
    port: int
    #: Path answered with the version document (no token needed).
    root_path: str
    #: Files of the service's configuration folder, name -> text.
    config: dict[str, str]
    #: For gunicorn services: "module:attribute" of the WSGI application and
    #: the environment variable naming the configuration folder.
    wsgi_target: str | None = None
    config_dir_env: str | None = None
    #: Auxiliary services (issue 5's tests) are left out of the state fingerprint.
    auxiliary: bool = False
    #: A command line for services that are neither gunicorn nor Ironic.
    command: tuple[str, ...] = ()
    scheme: str = "http"
    #: How `up` and `status` tell that the service is ready: ``http`` (its root
    #: answers 200 or 300), ``tcp`` (its port accepts connections) or
    #: ``process`` (its process lives; nova-compute and friends have no port,
    #: and `up` checks them through Nova's services API instead).
    probe: str = "http"
    #: Extra environment variables of the process.
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Infrastructure (MariaDB, RabbitMQ) starts before the others and is
    #: needed while the state is initialised.
    infrastructure: bool = False

    @property
    def config_dir(self) -> Path:
        return ETC_DIR / self.name

    @property
    def log_file(self) -> Path:
        return LOG_DIR / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return RUN_DIR / f"{self.name}.pid"

    @property
    def root_url(self) -> str:
        if self.probe != "http":
            return f"tcp://{HOST}:{self.port}" if self.port else "(no port)"
        return f"{self.scheme}://{HOST}:{self.port}{self.root_path}"





def render_ini(sections: dict[str, dict[str, object]]) -> str:
    """Render an oslo.config style INI file from nested dictionaries."""
    lines: list[str] = []
    for section, options in sections.items():
        lines.append(f"[{section}]")
        for key, value in options.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            lines.append(f"{key} = {value}")
        lines.append("")
    return "\n".join(lines)


def sqlite_url(path: Path) -> str:
    """An SQLAlchemy URL for an SQLite file at an absolute path."""
    return f"sqlite:///{path}"



def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless it already holds it; True if written."""
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True


