"""Debian packages the cloud needs, installed on first use (a fresh CI machine has none)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .config import LOG_DIR
from .util import run_logged, say

#: A binary that tells whether a package is installed -> the package.
PACKAGES = {
    "/usr/lib/rabbitmq/bin/rabbitmq-server": "rabbitmq-server",
    "/usr/sbin/mariadbd": "mariadb-server",
}


def ensure_packages() -> None:
    """apt-get install what is missing (idempotent; `apt-get update` only if needed)."""
    missing = sorted({pkg for binary, pkg in PACKAGES.items() if not Path(binary).exists()})
    if not missing:
        return
    if shutil.which("apt-get") is None:
        from .config import ServicesError

        raise ServicesError(f"missing Debian packages {', '.join(missing)} and no apt-get")
    say(f"installing Debian packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    log = LOG_DIR / "apt.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as handle:
        first = subprocess.run(cmd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    if first.returncode != 0:
        run_logged(["apt-get", "update"], log, env=env)
        run_logged(cmd, log, env=env)
