"""The services' virtualenv: installed once per set of pins (uv if it can, else pip)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Callable

from .config import BOOTSTRAP_DIR, CONSTRAINTS_FILE, INSTALL_MARKER, LOG_DIR, PINNED_PACKAGES, \
    REPO_ROOT, VENV_DIR, ServicesError
from .util import run_logged, say



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


def ensure_venv(stop_all: Callable[[], object]) -> bool:
    """Create and fill the services' venv unless it is current; True if installed."""
    fingerprint = install_fingerprint()
    if INSTALL_MARKER.is_file() and INSTALL_MARKER.read_text().strip() == fingerprint:
        return False
    stop_all()  # never swap a venv under running services
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


