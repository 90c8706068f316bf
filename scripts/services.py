#!/usr/bin/env python3
"""Run real OpenStack services on this machine for squall's integration tests.

Usage::

    python3 scripts/services.py up       # install, initialise, start, verify
    python3 scripts/services.py down     # stop everything started by `up`
    python3 scripts/services.py status   # which services answer (exit 1 if any is down)
    python3 scripts/services.py env      # shell exports pointing at the generated cloud files
    python3 scripts/services.py lock     # rewrite scripts/services/constraints.txt from the venv

What `up` brings up, all on 127.0.0.1 and on SQLite:

* Keystone (identity), served by gunicorn, with fernet tokens;
* Placement, served by gunicorn, behind keystonemiddleware;
* the Nova compute API alone (no scheduler, conductor or compute), served by
  gunicorn, behind keystonemiddleware;
* Ironic standalone (API and conductor in one process), with the fake-hardware
  driver and no authentication;
* auxiliary services for the ServiceClients tests (issue 5), left out of the
  state fingerprint so that they never force a re-initialisation:

  - ``keystone-short``: a second Keystone process on the same database and
    keys whose tokens live ``SQUALL_SHORT_TOKEN_EXPIRATION`` seconds (default
    20), so that a token-renewal test can outlive its token without touching
    the Keystone every other test uses;
  - ``tls-proxy``: an HTTPS reverse proxy in front of Placement, with a CA and
    a server certificate (for 127.0.0.1 and localhost) generated on its first
    start under ``state/tls/`` (Python ``cryptography`` from the venv).

After the services answer, `up` also makes sure (idempotently) that Keystone
has a region ``RegionTwo`` with endpoints for compute, placement and baremetal
(public: ``http://localhost:PORT...``; internal: ``http://127.0.0.1:PORT...``,
so a test can tell region and interface apart), an application credential
``squall`` of the admin user, and the admin role for the admin user on the
system and on the Default domain.  cloud.json gains ``short_auth_url``,
``tls`` (``url``, ``ca``), ``application_credential`` (``id``, ``secret``) and
``regions``.

Everything lives under ``target/squall-services/`` in the repository:

* ``venv/``: the services' virtualenv (installed once per set of pins);
* ``state/``: databases and keys, initialised once per configuration hash;
* ``etc/``: the configuration files, rewritten on every `up`;
* ``logs/<service>.log`` and ``run/<service>.pid``;
* ``cloud.json`` and ``clouds.yaml``: how a client reaches the cloud.

The script uses the Python standard library only.  Environment variables:

* ``SQUALL_KEYSTONE_PORT``, ``SQUALL_PLACEMENT_PORT``, ``SQUALL_NOVA_PORT``,
  ``SQUALL_IRONIC_PORT``: listening ports (defaults 15000 to 15003);
* ``SQUALL_TOKEN_EXPIRATION``: Keystone token lifetime in seconds (default
  3600); changing it only rewrites keystone.conf and restarts Keystone;
* ``SQUALL_KEYSTONE_SHORT_PORT`` (default 15004), ``SQUALL_TLS_PORT``
  (default 15005), ``SQUALL_SHORT_TOKEN_EXPIRATION`` (default 20): the
  auxiliary services above;
* ``SQUALL_SERVICE_WORKERS``: gunicorn worker processes for Placement and
  Nova (1 or 2, default 1: on two cores every extra worker adds seconds to
  each start);
* ``SQUALL_SERVICE_THREADS``: threads per gunicorn worker for Placement and
  Nova (default 1);
* ``SQUALL_SERVICES_TIMEOUT``: seconds to wait for the services to answer
  (default 120).

Keystone always runs one single-threaded worker: its in-process cache (which
makes it some 30 times faster) is only coherent within one process, and its
lazily built policy enforcer is not thread-safe (with threads, a token
validation right after a start was seen to fail with 403 now and then).

`up` is idempotent: with everything answering it only prints the status; a
service whose configuration or command line changed is restarted; the
venv and the state are rebuilt only when the pins or the configuration that
shaped them change.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import fcntl
import grp
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterable, Iterator

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parent.parent
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
CONSTRAINTS_FILE = Path(__file__).resolve().parent / "services" / "constraints.txt"

INSTALL_MARKER = VENV_DIR / ".squall-installed"
INIT_MARKER = STATE_DIR / "initialised"

#: Packages installed into the services' virtualenv.  The four services are
#: pinned; everything else is held by ``scripts/services/constraints.txt``
#: when that file exists.
PINNED_PACKAGES = (
    "keystone==30.0.0",
    "openstack-placement==16.0.0",
    "nova==34.0.0",
    "ironic==39.0.0",
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
STATE_FORMAT = 1

DEFAULT_TOKEN_EXPIRATION = 3600
DEFAULT_WAIT_SECONDS = 120.0
HTTP_TIMEOUT = 10.0

INTERFACES = ("public", "internal", "admin")


# --------------------------------------------------------------------------
# Settings and service descriptions
# --------------------------------------------------------------------------


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
        return f"{self.scheme}://{HOST}:{self.port}{self.root_path}"


# --------------------------------------------------------------------------
# Configuration files
# --------------------------------------------------------------------------


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


def keystone_authtoken(settings: Settings) -> dict[str, object]:
    """The ``[keystone_authtoken]`` section shared by Nova and Placement.

    keystonemiddleware validates incoming tokens with a password session of
    the admin user.  Its token cache is off (no memcached, and the in-process
    cache would keep accepting a revoked token for minutes): every request is
    validated by Keystone, which takes a few milliseconds.
    """
    return {
        "www_authenticate_uri": settings.identity_url,
        "auth_url": settings.identity_url,
        "auth_type": "password",
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "project_name": ADMIN_PROJECT,
        "user_domain_name": DEFAULT_DOMAIN,
        "project_domain_name": DEFAULT_DOMAIN,
        "region_name": REGION,
        "http_connect_timeout": 10,
        "http_request_max_retries": 3,
        "token_cache_time": -1,
    }


def keystone_service_credentials(settings: Settings) -> dict[str, object]:
    """Credentials Nova uses to talk to Placement (as the admin user)."""
    section = {
        key: value
        for key, value in keystone_authtoken(settings).items()
        if key in ("auth_url", "auth_type", "username", "password", "project_name",
                   "user_domain_name", "project_domain_name", "region_name")
    }
    section["valid_interfaces"] = "public"
    return section


def keystone_config(settings: Settings, expiration: int | None = None) -> dict[str, str]:
    """Keystone's configuration folder (``expiration`` overrides the token lifetime)."""
    state = STATE_DIR / "keystone"
    conf = {
        "DEFAULT": {"debug": False},
        "database": {"connection": sqlite_url(state / "keystone.db")},
        "token": {"provider": "fernet",
                  "expiration": expiration or settings.token_expiration},
        "fernet_tokens": {"key_repository": state / "fernet-keys"},
        "fernet_receipts": {"key_repository": state / "fernet-keys"},
        "credential": {"key_repository": state / "credential-keys"},
        # bcrypt's minimum cost: every password authentication (each token
        # a test asks for) would otherwise spend a quarter second hashing.
        "identity": {"password_hash_rounds": 4},
        "cache": keystone_cache(),
    }
    return {"keystone.conf": render_ini(conf)}


def keystone_cache() -> dict[str, object]:
    """Keystone's ``[cache]`` section: an in-process cache.

    Without a cache Keystone runs some 300 SQL queries to validate one token
    (half a second on this machine).  An in-process cache is only coherent
    within one process: Keystone runs a single gunicorn worker.
    """
    return {
        "enabled": True,
        "backend": "oslo_cache.dict",
        "backend_argument": "expiration_time:600",
        "expiration_time": 600,
    }


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


def nova_config(settings: Settings) -> dict[str, str]:
    """Nova's configuration folder (api-paste.ini is copied from the venv)."""
    state = STATE_DIR / "nova"
    conf = {
        "DEFAULT": {
            "debug": False,
            "transport_url": "fake://",
            "state_path": state,
            "host": "squall",
            "my_ip": HOST,
        },
        "api": {"auth_strategy": "keystone"},
        "wsgi": {"api_paste_config": ETC_DIR / "nova" / "api-paste.ini"},
        "api_database": {"connection": sqlite_url(state / "nova_api.db")},
        "database": {"connection": sqlite_url(state / "nova.db")},
        "oslo_concurrency": {"lock_path": state / "locks"},
        "oslo_messaging_notifications": {"driver": "noop"},
        "keystone_authtoken": keystone_authtoken(settings),
        "placement": keystone_service_credentials(settings),
    }
    return {"nova.conf": render_ini(conf), "api-paste.ini": nova_api_paste()}


def nova_api_paste() -> str:
    """The api-paste.ini shipped with Nova, read from the venv."""
    candidates = [VENV_DIR / "etc" / "nova" / "api-paste.ini"]
    candidates += sorted(VENV_DIR.glob("lib/python*/site-packages/etc/nova/api-paste.ini"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate.read_text()
    raise ServicesError(f"cannot find Nova's api-paste.ini under {VENV_DIR}")


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


def services(settings: Settings, *, with_config: bool = True) -> list[Service]:
    """The services, in start order.

    ``with_config=False`` skips rendering the configuration files, for the
    commands (down, status) that must work without a virtualenv.
    """

    def conf(render: Callable[[Settings], dict[str, str]]) -> dict[str, str]:
        return render(settings) if with_config else {}

    return [
        Service("keystone", settings.keystone_port, "/v3", conf(keystone_config),
                "squall_wsgi_keystone:application", "OS_KEYSTONE_CONFIG_DIR"),
        Service("placement", settings.placement_port, "/", conf(placement_config),
                "squall_wsgi_placement:application", "OS_PLACEMENT_CONFIG_DIR"),
        Service("nova", settings.nova_port, "/", conf(nova_config),
                "squall_wsgi_nova:application", "OS_NOVA_CONFIG_DIR"),
        Service("ironic", settings.ironic_port, "/", conf(ironic_config)),
        Service("keystone-short", settings.keystone_short_port, "/v3",
                conf(lambda s: keystone_config(s, s.short_token_expiration)),
                "squall_wsgi_keystone:application", "OS_KEYSTONE_CONFIG_DIR", auxiliary=True),
        Service("tls-proxy", settings.tls_port, "/", {}, auxiliary=True, scheme="https",
                command=(str(VENV_DIR / "bin" / "python"), str(WSGI_DIR / "squall_tls_proxy.py"),
                         str(settings.tls_port), HOST, str(settings.placement_port),
                         str(STATE_DIR / "tls"))),
    ]


#: WSGI wrapper modules served by gunicorn.  oslo.config in Keystone and Nova
#: parses sys.argv and rejects gunicorn's arguments, so drop them first.
WSGI_WRAPPERS = {
    "squall_wsgi_keystone": "keystone.wsgi.api",
    "squall_wsgi_placement": "placement.wsgi.api",
    "squall_wsgi_nova": "nova.wsgi.osapi_compute",
}


TLS_PROXY = '''"""HTTPS reverse proxy for squall's TLS tests (generated by scripts/services.py).

Usage: squall_tls_proxy.py LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT TLS_DIR

On first start it writes a CA (ca.pem) and a server certificate for 127.0.0.1 and
localhost signed by it (server.pem, server.key) into TLS_DIR.
"""
import datetime
import http.client
import http.server
import ipaddress
import ssl
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def name(text):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def ensure_certificates(folder):
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "server.pem").is_file() and (folder / "ca.pem").is_file():
        return
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("squall test CA"))
          .issuer_name(name("squall test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start)
          .not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("127.0.0.1"))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (folder / "server.key").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (folder / "server.pem").write_bytes(cert.public_bytes(pem))
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = ("127.0.0.1", 0)

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection")}
        upstream = http.client.HTTPConnection(*self.upstream, timeout=60)
        upstream.request(self.command, self.path, body=body, headers=headers)
        reply = upstream.getresponse()
        data = reply.read()
        self.send_response_only(reply.status, reply.reason)
        for key, value in reply.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = forward

    def log_message(self, fmt, *args):
        sys.stderr.write("tls-proxy: " + (fmt % args) + "\\n")


def main():
    port, host, upstream_port, folder = sys.argv[1:5]
    folder = Path(folder)
    ensure_certificates(folder)
    Proxy.upstream = (host, int(upstream_port))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Proxy)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
'''


def write_wsgi_wrappers() -> None:
    """Write the gunicorn wrapper modules and the TLS proxy into ``WSGI_DIR``."""
    WSGI_DIR.mkdir(parents=True, exist_ok=True)
    write_if_changed(WSGI_DIR / "squall_tls_proxy.py", TLS_PROXY)
    for module, target in WSGI_WRAPPERS.items():
        text = (
            f'"""gunicorn entry point for {target} (generated by scripts/services.py)."""\n'
            "import sys\n\n"
            "sys.argv = sys.argv[:1]\n\n"
            f"from {target} import application  # noqa: E402,F401\n"
        )
        write_if_changed(WSGI_DIR / f"{module}.py", text)


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless it already holds it; True if written."""
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True


def write_service_config(service: Service) -> bool:
    """Write a service's configuration folder; True if any file changed."""
    changed = False
    for name, text in service.config.items():
        changed |= write_if_changed(service.config_dir / name, text)
    return changed


def init_fingerprint(settings: Settings) -> str:
    """Hash of everything the initialised state depends on.

    The token expiration only matters to the running Keystone, so it is left
    out: changing it restarts Keystone without re-initialising.
    """
    neutral = dataclasses.replace(settings, token_expiration=DEFAULT_TOKEN_EXPIRATION,
                                  workers=1, threads=1, wait_seconds=0)
    payload = {
        "format": STATE_FORMAT,
        "pins": install_fingerprint(),
        "admin": [ADMIN_USER, ADMIN_PASSWORD, ADMIN_PROJECT, REGION],
        "catalog": catalog_entries(neutral),
        "config": {svc.name: svc.config for svc in services(neutral) if not svc.auxiliary},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------
# Small helpers: output, subprocesses, HTTP
# --------------------------------------------------------------------------


def say(message: str) -> None:
    """Print a progress line, flushed at once."""
    print(f"[services] {message}", flush=True)


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a text file, or a note that it does not exist."""
    if not path.is_file():
        return f"({path} does not exist)"
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 64 * 1024))
        text = handle.read().decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def service_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for every child process: the venv first on PATH, no proxy."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(name, None)
    env["PATH"] = f"{VENV_DIR / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_DIR)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env


def run_logged(cmd: list[str], log: Path, *, env: dict[str, str] | None = None) -> None:
    """Run a command with its output appended to ``log``; raise on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with log.open("a") as handle:
        handle.write(f"\n$ {' '.join(map(str, cmd))}\n")
        handle.flush()
        result = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env or service_env(),
                                cwd=BASE_DIR)
        handle.write(f"# exit code {result.returncode} after {time.monotonic() - began:.1f}s\n")
    if result.returncode != 0:
        raise ServicesError(
            f"command failed with exit code {result.returncode}: {' '.join(map(str, cmd))}\n"
            f"--- last lines of {log} ---\n{tail(log)}"
        )


@dataclasses.dataclass
class Response:
    """An HTTP response, whatever its status."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body.decode("utf-8")) if self.body else None


#: An opener that never goes through a proxy: everything is on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, *, body: object = None, headers: dict[str, str] | None = None,
         timeout: float = HTTP_TIMEOUT) -> Response:
    """Send one HTTP request with a timeout; HTTP errors are returned, not raised.

    Connection failures and timeouts raise ``OSError``.
    """
    data = None
    all_headers = {"Accept": "application/json"}
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
    try:
        with _OPENER.open(request, timeout=timeout) as reply:
            return Response(reply.status, dict(reply.headers.items()), reply.read())
    except urllib.error.HTTPError as error:
        with error:
            return Response(error.code, dict(error.headers.items()), error.read())


def expect(response: Response, statuses: Iterable[int], what: str) -> Response:
    """Raise unless the response has one of the expected statuses."""
    statuses = tuple(statuses)
    if response.status not in statuses:
        raise ServicesError(
            f"{what}: expected HTTP {'/'.join(map(str, statuses))}, got {response.status}: "
            f"{response.body[:500].decode('utf-8', 'replace')}"
        )
    return response


# --------------------------------------------------------------------------
# Virtualenv
# --------------------------------------------------------------------------


def install_fingerprint() -> str:
    """Hash of what the venv should hold: pins, constraints, Python version."""
    constraints = CONSTRAINTS_FILE.read_text() if CONSTRAINTS_FILE.is_file() else ""
    payload = [list(PINNED_PACKAGES), constraints, sys.version, sys.executable]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def find_uv() -> Path | None:
    """Find uv on PATH or in the bootstrap venv, installing it there if needed."""
    on_path = shutil.which("uv")
    if on_path:
        return Path(on_path)
    bootstrap_uv = BOOTSTRAP_DIR / "bin" / "uv"
    if bootstrap_uv.is_file():
        return bootstrap_uv
    say("uv is not on PATH: installing it into a bootstrap venv")
    log = LOG_DIR / "install.log"
    try:
        shutil.rmtree(BOOTSTRAP_DIR, ignore_errors=True)
        run_logged([sys.executable, "-m", "venv", str(BOOTSTRAP_DIR)], log, env=os.environ.copy())
        run_logged([str(BOOTSTRAP_DIR / "bin" / "pip"), "install", "--quiet", "uv"], log,
                   env=os.environ.copy())
    except ServicesError as error:
        say(f"could not install uv, falling back to pip: {error}")
        shutil.rmtree(BOOTSTRAP_DIR, ignore_errors=True)
        return None
    return bootstrap_uv if bootstrap_uv.is_file() else None


def install_requirements() -> list[str]:
    """The requirement arguments shared by uv and pip."""
    args = list(PINNED_PACKAGES)
    if CONSTRAINTS_FILE.is_file():
        args += ["--constraint", str(CONSTRAINTS_FILE)]
    return args


def ensure_venv() -> bool:
    """Create and fill the services' venv unless it is current; True if installed."""
    fingerprint = install_fingerprint()
    if INSTALL_MARKER.is_file() and INSTALL_MARKER.read_text().strip() == fingerprint:
        return False
    stop_all(quiet=True)  # never swap a venv under running services
    shutil.rmtree(VENV_DIR, ignore_errors=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / "install.log"
    log.write_text("")
    env = os.environ.copy()
    python = str(VENV_DIR / "bin" / "python")
    uv = find_uv()
    if uv is not None:
        say(f"installing the services into {VENV_DIR.relative_to(REPO_ROOT)} with uv")
        env.setdefault("UV_HTTP_TIMEOUT", "180")
        run_logged([str(uv), "venv", "--quiet", "--python", sys.executable, str(VENV_DIR)],
                   log, env=env)
        run_logged([str(uv), "pip", "install", "--python", python, "--compile-bytecode",
                    *install_requirements()], log, env=env)
    else:
        say(f"installing the services into {VENV_DIR.relative_to(REPO_ROOT)} with pip")
        run_logged([sys.executable, "-m", "venv", str(VENV_DIR)], log, env=env)
        run_logged([python, "-m", "pip", "install", "--quiet", *install_requirements()],
                   log, env=env)
    INSTALL_MARKER.write_text(fingerprint + "\n")
    return True


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------

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
    """Whether the service answers its version document (over TLS, trusting its test CA)."""
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


def port_in_use(port: int) -> bool:
    """Whether something already listens on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0


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
        return cmd, service_env({service.config_dir_env: str(service.config_dir)})
    if service.command:
        return list(service.command), service_env()
    cmd = [str(bin_dir / "ironic"), "--config-file", str(service.config_dir / "ironic.conf")]
    return cmd, service_env()


def command_hash(service: Service, settings: Settings) -> str:
    """A short hash of how a service is launched, to notice when that changes."""
    cmd, _ = launch_command(service, settings)
    return hashlib.sha256("\0".join(cmd).encode()).hexdigest()[:16]


def start_service(service: Service, settings: Settings) -> int:
    """Start a service detached from this process; return its pid."""
    if port_in_use(service.port):
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


def stop_all(*, quiet: bool = False) -> list[str]:
    """Stop every service that has a pid file; return the names stopped."""
    return stop_services(services(Settings.from_env(), with_config=False), quiet=quiet)


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


# --------------------------------------------------------------------------
# Keystone REST: tokens and the catalog
# --------------------------------------------------------------------------


def get_token(settings: Settings) -> tuple[str, dict]:
    """A project-scoped admin token and the token body."""
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": ADMIN_USER,
                        "domain": {"name": DEFAULT_DOMAIN},
                        "password": ADMIN_PASSWORD,
                    }
                },
            },
            "scope": {
                "project": {"name": ADMIN_PROJECT, "domain": {"name": DEFAULT_DOMAIN}}
            },
        }
    }
    response = expect(http("POST", f"{settings.identity_url}/auth/tokens", body=body),
                      (201,), "Keystone token request")
    token = response.headers.get("X-Subject-Token")
    if not token:
        raise ServicesError("Keystone answered without an X-Subject-Token header")
    return token, response.json()["token"]


def catalog_entries(settings: Settings) -> list[dict[str, str]]:
    """The services registered in the catalog besides identity."""
    return [
        {"type": "compute", "name": "nova", "url": settings.compute_url},
        {"type": "placement", "name": "placement", "url": settings.placement_url},
        {"type": "baremetal", "name": "ironic", "url": settings.baremetal_url},
    ]


def register_catalog(settings: Settings) -> None:
    """Create the services and their endpoints in Keystone, idempotently."""
    token, _ = get_token(settings)
    headers = {"X-Auth-Token": token}
    base = settings.identity_url
    for entry in catalog_entries(settings):
        listing = expect(http("GET", f"{base}/services?type={entry['type']}", headers=headers),
                         (200,), f"listing {entry['type']} services").json()
        matches = [s for s in listing["services"] if s.get("name") == entry["name"]]
        if matches:
            service_id = matches[0]["id"]
        else:
            created = http("POST", f"{base}/services", headers=headers, body={
                "service": {"type": entry["type"], "name": entry["name"], "enabled": True}})
            service_id = expect(created, (201,), f"creating the {entry['type']} service"
                                ).json()["service"]["id"]
        endpoints = expect(http("GET", f"{base}/endpoints?service_id={service_id}",
                                headers=headers), (200,), "listing endpoints").json()
        for interface in INTERFACES:
            existing = [e for e in endpoints["endpoints"]
                        if e["interface"] == interface and e.get("region_id") == REGION]
            if existing:
                if existing[0]["url"] != entry["url"]:
                    expect(http("PATCH", f"{base}/endpoints/{existing[0]['id']}",
                                headers=headers, body={"endpoint": {"url": entry["url"]}}),
                           (200,), f"updating the {interface} {entry['type']} endpoint")
                continue
            expect(http("POST", f"{base}/endpoints", headers=headers, body={"endpoint": {
                "service_id": service_id, "interface": interface, "region_id": REGION,
                "url": entry["url"], "enabled": True}}),
                (201,), f"creating the {interface} {entry['type']} endpoint")


REGION_TWO = "RegionTwo"
APP_CRED_NAME = "squall"
APP_CRED_SECRET = "squall-appcred-secret"


def region_two_url(url: str, interface: str) -> str:
    """RegionTwo's URL for an interface: public via ``localhost``, internal via the IP."""
    return url.replace(HOST, "localhost") if interface == "public" else url


def ensure_extras(settings: Settings) -> dict[str, object]:
    """RegionTwo endpoints, an application credential, system and domain roles (idempotent).

    Returns what cloud.json tells the tests about them.
    """
    token, body = get_token(settings)
    headers = {"X-Auth-Token": token}
    base = settings.identity_url
    user_id = body["user"]["id"]
    if http("GET", f"{base}/regions/{REGION_TWO}", headers=headers).status == 404:
        expect(http("POST", f"{base}/regions", headers=headers,
                    body={"region": {"id": REGION_TWO}}), (201,), "creating RegionTwo")
    for entry in catalog_entries(settings):
        listing = expect(http("GET", f"{base}/services?type={entry['type']}", headers=headers),
                         (200,), f"listing {entry['type']} services").json()
        matches = [s for s in listing["services"] if s.get("name") == entry["name"]]
        if not matches:
            raise ServicesError(f"the {entry['type']} service is not in the catalog")
        service_id = matches[0]["id"]
        endpoints = expect(http("GET", f"{base}/endpoints?service_id={service_id}",
                                headers=headers), (200,), "listing endpoints").json()
        for interface in ("public", "internal"):
            url = region_two_url(entry["url"], interface)
            existing = [e for e in endpoints["endpoints"]
                        if e["interface"] == interface and e.get("region_id") == REGION_TWO]
            if existing:
                if existing[0]["url"] != url:
                    expect(http("PATCH", f"{base}/endpoints/{existing[0]['id']}",
                                headers=headers, body={"endpoint": {"url": url}}),
                           (200,), f"updating a {REGION_TWO} endpoint")
                continue
            expect(http("POST", f"{base}/endpoints", headers=headers, body={"endpoint": {
                "service_id": service_id, "interface": interface, "region_id": REGION_TWO,
                "url": url, "enabled": True}}), (201,), f"creating a {REGION_TWO} endpoint")
    roles = expect(http("GET", f"{base}/roles?name={ADMIN_ROLE}", headers=headers), (200,),
                   "listing roles").json()["roles"]
    role_id = roles[0]["id"]
    expect(http("PUT", f"{base}/system/users/{user_id}/roles/{role_id}", headers=headers),
           (201, 204), "granting the admin role on the system")
    expect(http("PUT", f"{base}/domains/default/users/{user_id}/roles/{role_id}",
                headers=headers), (201, 204), "granting the admin role on the Default domain")
    creds = expect(http("GET", f"{base}/users/{user_id}/application_credentials"
                               f"?name={APP_CRED_NAME}", headers=headers),
                   (200,), "listing application credentials").json()["application_credentials"]
    if creds:
        app_cred_id = creds[0]["id"]
    else:
        created = expect(http("POST", f"{base}/users/{user_id}/application_credentials",
                              headers=headers, body={"application_credential": {
                                  "name": APP_CRED_NAME, "secret": APP_CRED_SECRET,
                                  "description": "squall ServiceClients tests"}}),
                         (201,), "creating the application credential").json()
        app_cred_id = created["application_credential"]["id"]
    return {
        "short_auth_url": settings.short_identity_url,
        "short_token_expiration": settings.short_token_expiration,
        "tls": {"url": settings.tls_url, "ca": str(STATE_DIR / "tls" / "ca.pem")},
        "application_credential": {"id": app_cred_id, "secret": APP_CRED_SECRET},
        "user_id": user_id,
        "regions": {
            REGION_TWO: {
                entry["type"]: {interface: region_two_url(entry["url"], interface)
                                for interface in ("public", "internal")}
                for entry in catalog_entries(settings)
            }
        },
    }


# --------------------------------------------------------------------------
# Initialisation of the state (databases, keys, catalog)
# --------------------------------------------------------------------------


def init_keystone(settings: Settings, keystone: Service) -> None:
    """Keys, database, bootstrap; then start Keystone and fill the catalog."""
    log = LOG_DIR / "init-keystone.log"
    state = STATE_DIR / "keystone"
    for folder in ("fernet-keys", "credential-keys"):
        (state / folder).mkdir(mode=0o700, parents=True, exist_ok=True)
    manage = [str(VENV_DIR / "bin" / "keystone-manage"),
              "--config-file", str(keystone.config_dir / "keystone.conf")]
    owner = ["--keystone-user", pwd.getpwuid(os.getuid()).pw_name,
             "--keystone-group", grp.getgrgid(os.getgid()).gr_name]
    run_logged(manage + ["db_sync"], log)
    run_logged(manage + ["fernet_setup", *owner], log)
    run_logged(manage + ["credential_setup", *owner], log)
    run_logged(manage + [
        "bootstrap",
        "--bootstrap-password", ADMIN_PASSWORD,
        "--bootstrap-username", ADMIN_USER,
        "--bootstrap-project-name", ADMIN_PROJECT,
        "--bootstrap-role-name", ADMIN_ROLE,
        "--bootstrap-service-name", "keystone",
        "--bootstrap-region-id", REGION,
        "--bootstrap-admin-url", settings.identity_url,
        "--bootstrap-internal-url", settings.identity_url,
        "--bootstrap-public-url", settings.identity_url,
    ], log)
    start_service(keystone, settings)
    wait_until_answering([keystone], time.monotonic() + settings.wait_seconds)
    register_catalog(settings)


def init_nova(nova: Service) -> None:
    """Nova's API and cell databases, cell0 and cell1."""
    log = LOG_DIR / "init-nova.log"
    state = STATE_DIR / "nova"
    (state / "locks").mkdir(parents=True, exist_ok=True)
    manage = [str(VENV_DIR / "bin" / "nova-manage"),
              "--config-file", str(nova.config_dir / "nova.conf")]
    run_logged(manage + ["api_db", "sync"], log)
    run_logged(manage + ["cell_v2", "map_cell0", "--database_connection",
                         sqlite_url(state / "nova_cell0.db")], log)
    run_logged(manage + ["db", "sync"], log)
    run_logged(manage + ["cell_v2", "create_cell", "--name", "cell1"], log)


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


def initialise(settings: Settings, by_name: dict[str, Service]) -> None:
    """Initialise the whole state, two chains at a time (the machine has 2 cores).

    On failure the partial state is removed so that the next run starts clean.
    """
    for name in ("init-keystone", "init-nova", "init-placement", "init-ironic"):
        (LOG_DIR / f"{name}.log").unlink(missing_ok=True)
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    STATE_DIR.mkdir(parents=True)
    chains = [
        lambda: init_keystone(settings, by_name["keystone"]),
        lambda: init_nova(by_name["nova"]),
        lambda: init_placement_and_ironic(by_name["placement"], by_name["ironic"]),
    ]
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(chain) for chain in chains]
            for future in futures:
                future.result()
        INIT_MARKER.write_text(init_fingerprint(settings) + "\n")
    except BaseException:
        stop_all(quiet=True)
        shutil.rmtree(STATE_DIR, ignore_errors=True)
        raise


def state_is_current(settings: Settings) -> bool:
    """Whether the state dir was initialised with the current configuration."""
    return (INIT_MARKER.is_file()
            and INIT_MARKER.read_text().strip() == init_fingerprint(settings))


# --------------------------------------------------------------------------
# End-to-end check and cloud files
# --------------------------------------------------------------------------


def verify(settings: Settings) -> list[str]:
    """Check each service through the API with a real token; return report lines."""
    lines = []
    began = time.monotonic()
    token, body = get_token(settings)
    catalog_types = sorted(entry["type"] for entry in body.get("catalog", []))
    lines.append(f"keystone   token issued, catalog: {', '.join(catalog_types)} "
                 f"({time.monotonic() - began:.2f}s)")
    missing = {"identity", "compute", "placement", "baremetal"} - set(catalog_types)
    if missing:
        raise ServicesError(f"the token's catalog lacks {', '.join(sorted(missing))}")
    auth = {"X-Auth-Token": token}

    began = time.monotonic()
    response = expect(http("GET", f"{settings.compute_url}/os-keypairs", headers=auth),
                      (200,), "Nova GET /os-keypairs")
    version = response.headers.get("OpenStack-API-Version", "?")
    lines.append(f"nova       GET /v2.1/os-keypairs -> {response.status} "
                 f"[{version}] ({time.monotonic() - began:.2f}s)")

    began = time.monotonic()
    response = expect(http("GET", f"{settings.placement_url}/resource_providers",
                           headers={**auth, "OpenStack-API-Version": "placement 1.0"}),
                      (200,), "Placement GET /resource_providers")
    lines.append(f"placement  GET /resource_providers -> {response.status} "
                 f"({time.monotonic() - began:.2f}s)")

    began = time.monotonic()
    response = expect(http("GET", f"{settings.baremetal_url}/v1/nodes"), (200,),
                      "Ironic GET /v1/nodes")
    maximum = response.headers.get("X-OpenStack-Ironic-API-Maximum-Version", "?")
    lines.append(f"ironic     GET /v1/nodes -> {response.status} "
                 f"[max {maximum}] ({time.monotonic() - began:.2f}s)")
    return lines


def cloud_description(settings: Settings) -> dict[str, object]:
    """The content of cloud.json."""
    return {
        "auth_url": settings.identity_url,
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "project_name": ADMIN_PROJECT,
        "user_domain_name": DEFAULT_DOMAIN,
        "project_domain_name": DEFAULT_DOMAIN,
        "region": REGION,
        "endpoints": {
            "identity": settings.identity_url,
            "compute": settings.compute_url,
            "placement": settings.placement_url,
            "baremetal": settings.baremetal_url,
        },
    }


def clouds_yaml(settings: Settings) -> str:
    """A clouds.yaml with one cloud, ``squall``.  JSON strings are valid YAML."""
    q = json.dumps
    return "\n".join([
        "# Generated by scripts/services.py",
        "clouds:",
        f"  {CLOUD_NAME}:",
        "    auth:",
        f"      auth_url: {q(settings.identity_url)}",
        f"      username: {q(ADMIN_USER)}",
        f"      password: {q(ADMIN_PASSWORD)}",
        f"      project_name: {q(ADMIN_PROJECT)}",
        f"      user_domain_name: {q(DEFAULT_DOMAIN)}",
        f"      project_domain_name: {q(DEFAULT_DOMAIN)}",
        "    auth_type: password",
        f"    region_name: {q(REGION)}",
        "    interface: public",
        "    identity_api_version: 3",
        "",
    ])


def write_cloud_files(settings: Settings) -> None:
    """Write cloud.json (with the extras of issue 5's tests) and clouds.yaml."""
    description = {**cloud_description(settings), **ensure_extras(settings)}
    write_if_changed(CLOUD_JSON, json.dumps(description, indent=2) + "\n")
    write_if_changed(CLOUDS_YAML, clouds_yaml(settings))


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------


def cmd_up(settings: Settings) -> int:
    """Install, initialise, start and verify the services (idempotent)."""
    began = time.monotonic()
    timings: list[tuple[str, float]] = []

    def phase(name: str, since: float) -> float:
        now = time.monotonic()
        timings.append((name, now - since))
        return now

    mark = time.monotonic()
    for directory in (BASE_DIR, LOG_DIR, RUN_DIR):
        directory.mkdir(parents=True, exist_ok=True)
    installed = ensure_venv()
    mark = phase("install" if installed else "install (cached)", mark)

    all_services = services(settings)
    by_name = {svc.name: svc for svc in all_services}
    write_wsgi_wrappers()

    initialised = False
    if not state_is_current(settings):
        if any(running_pid(svc) for svc in all_services):
            say("the configuration changed: stopping the running services")
            stop_all()
        say("initialising the services' state (databases, keys, catalog)")
        for service in all_services:
            write_service_config(service)
        initialise(settings, by_name)
        initialised = True
        mark = phase("initialise", mark)

    # (Re)write the configuration; a running service whose files or command
    # line changed restarts.
    to_start: list[Service] = []
    for service in all_services:
        changed = write_service_config(service)
        changed |= started_with(service) != command_hash(service, settings)
        pid = running_pid(service)
        if pid is not None and changed:
            say(f"{service.name}'s configuration changed: restarting it")
            stop_services([service], quiet=True)
            pid = None
        if pid is None:
            to_start.append(service)

    if not to_start and not initialised:
        if all(answering(svc) for svc in all_services):
            write_cloud_files(settings)
            say("the services are already up")
            return cmd_status(settings)

    busy = [f"{svc.port} ({svc.name})" for svc in to_start if port_in_use(svc.port)]
    if busy:
        raise ServicesError(
            f"ports already in use by processes not started by this script: {', '.join(busy)}; "
            "stop them or choose other ports with SQUALL_<SERVICE>_PORT")
    for service in to_start:
        say(f"starting {service.name} on {HOST}:{service.port}")
        start_service(service, settings)
    try:
        took = wait_until_answering(all_services, time.monotonic() + settings.wait_seconds)
    except ServicesError:
        # Don't leave a crash-looping service behind; the others keep running.
        stop_services([svc for svc in to_start if not answering(svc)], quiet=True)
        raise
    mark = phase("start", mark)

    report = verify(settings)
    mark = phase("verify", mark)
    write_cloud_files(settings)

    print()
    print("Services (answering after):")
    for service in all_services:
        print(f"  {service.name:<10} {service.root_url:<32} pid {str(read_pid(service)):<8} "
              f"{took.get(service.name, 0.0):5.1f}s")
    print("End-to-end check:")
    for line in report:
        print(f"  {line}")
    print("Timings: " + ", ".join(f"{name} {secs:.1f}s" for name, secs in timings)
          + f"; total {time.monotonic() - began:.1f}s")
    print(f"Cloud: {CLOUD_JSON}")
    return 0


def cmd_down(settings: Settings) -> int:
    """Stop every service started by `up`."""
    stopped = stop_services(services(settings, with_config=False))
    say(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def cmd_status(settings: Settings) -> int:
    """Print each service and whether it answers; 1 if any is down."""
    all_up = True
    for service in services(settings, with_config=False):
        pid = running_pid(service)
        up = answering(service)
        all_up &= up
        state = "up" if up else "DOWN"
        owner = f"pid {pid}" if pid else "no process of ours"
        print(f"{service.name:<10} {state:<5} {service.root_url:<32} {owner}")
    return 0 if all_up else 1


def cmd_env(settings: Settings) -> int:
    """Print shell exports for the cloud files."""
    del settings
    print(f"export SQUALL_CLOUD_JSON={CLOUD_JSON}")
    print(f"export OS_CLIENT_CONFIG_FILE={CLOUDS_YAML}")
    print(f"export OS_CLOUD={CLOUD_NAME}")
    return 0


def cmd_lock(settings: Settings) -> int:
    """Write the venv's exact package versions to the constraints file."""
    state_was_current = state_is_current(settings)
    uv = find_uv()
    python = str(VENV_DIR / "bin" / "python")
    if not Path(python).is_file():
        raise ServicesError("no venv yet: run `up` first")
    cmd = ([str(uv), "pip", "freeze", "--python", python] if uv
           else [python, "-m", "pip", "freeze"])
    frozen = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    lines = sorted(line for line in frozen.splitlines() if line and not line.startswith("-e"))
    CONSTRAINTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    CONSTRAINTS_FILE.write_text(
        "# Exact versions for the services' venv, written by `scripts/services.py lock`.\n"
        + "\n".join(lines) + "\n"
    )
    # The venv and the state match the file they were frozen into: keep them.
    INSTALL_MARKER.write_text(install_fingerprint() + "\n")
    if state_was_current:
        INIT_MARKER.write_text(init_fingerprint(settings) + "\n")
    say(f"wrote {len(lines)} pins to {CONSTRAINTS_FILE.relative_to(REPO_ROOT)}")
    return 0


COMMANDS = {
    "up": cmd_up,
    "down": cmd_down,
    "status": cmd_status,
    "env": cmd_env,
    "lock": cmd_lock,
}


@contextlib.contextmanager
def exclusive_lock() -> Iterator[None]:
    """Hold a lock on ``BASE_DIR`` so that two commands never race each other.

    The services are started with ``close_fds``, so they never inherit it.
    """
    BASE_DIR.mkdir(parents=True, exist_ok=True)
    with (BASE_DIR / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("waiting for another scripts/services.py command to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command."""
    parser = argparse.ArgumentParser(
        description="Run real OpenStack services locally for squall's integration tests.")
    parser.add_argument("command", choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command in ("status", "env"):
            return COMMANDS[args.command](settings)
        with exclusive_lock():
            return COMMANDS[args.command](settings)
    except ServicesError as error:
        print(f"[services] error: {error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("[services] interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
