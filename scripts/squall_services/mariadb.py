"""MariaDB for Nova's and Neutron's databases (they do not work on SQLite across processes).

A private instance on 127.0.0.1 with its own datadir under the state folder; its root account
authenticates by socket, and the services use the ``squall`` account.
"""

from __future__ import annotations

import subprocess

from .config import DATABASES, DB_PASSWORD, DB_USER, HOST, LOG_DIR, RUN_DIR, STATE_DIR, \
    ServicesError, Service, Settings
from .util import run_logged

DATA_DIR = STATE_DIR / "mariadb"
SOCKET = RUN_DIR / "mariadb.sock"


def service(settings: Settings) -> Service:
    """The mariadbd process (the datadir is made by :func:`init`)."""
    return Service(
        "mariadb", settings.mariadb_port, "", {}, probe="tcp", infrastructure=True,
        command=("/usr/sbin/mariadbd", "--no-defaults", f"--datadir={DATA_DIR}",
                 f"--port={settings.mariadb_port}", f"--bind-address={HOST}",
                 f"--socket={SOCKET}", "--user=root", "--skip-name-resolve",
                 "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=48M",
                 "--innodb-flush-log-at-trx-commit=0", "--skip-log-bin",
                 "--max-connections=500", "--performance-schema=off"))


def init_datadir() -> None:
    """A fresh datadir (mariadb-install-db, about 3 s)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    run_logged(["mariadb-install-db", "--no-defaults", f"--datadir={DATA_DIR}", "--user=root",
                "--auth-root-authentication-method=socket", "--skip-test-db"],
               LOG_DIR / "init-mariadb.log")


def sql(statements: str) -> str:
    """Run SQL as root over the socket; return its output."""
    result = subprocess.run(
        ["mariadb", "--no-defaults", f"--socket={SOCKET}", "-u", "root", "-N", "-e", statements],
        capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise ServicesError(f"MariaDB: {statements[:200]}: {result.stderr.strip()}")
    return result.stdout


def create_databases() -> None:
    """The databases and the services' account (idempotent)."""
    statements = [f"CREATE USER IF NOT EXISTS '{DB_USER}'@'{HOST}' IDENTIFIED BY '{DB_PASSWORD}'"]
    for database in DATABASES:
        statements.append(f"CREATE DATABASE IF NOT EXISTS {database}")
        statements.append(f"GRANT ALL ON {database}.* TO '{DB_USER}'@'{HOST}'")
    sql("; ".join(statements) + ";")
