"""Small helpers: output, subprocesses, HTTP."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable

from .config import BASE_DIR, HOST, HTTP_TIMEOUT, VENV_DIR, ServicesError



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
         timeout: float = HTTP_TIMEOUT, raw: bytes | None = None) -> Response:
    """Send one HTTP request with a timeout; HTTP errors are returned, not raised.

    Connection failures and timeouts raise ``OSError``.
    """
    data = None
    all_headers = {"Accept": "application/json"}
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    if raw is not None:
        data = raw
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



def port_in_use(port: int) -> bool:
    """Whether something already listens on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0


