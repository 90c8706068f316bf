"""Shared helpers for the dump scripts (scripts/dump/<service>.py).

A dump is a neutral JSON description of a service's declared API, read by introspecting the
installed package: nothing is started or contacted. `squall-gen import` turns a dump into specs.

Format (version 1), one object:

    {"format": 1, "service": "compute",
     "package": {"name": "nova", "version": "34.0.0"},
     "microversions": {"min": "2.1", "max": "2.104"} | null,
     "operations": [{
        "key": "POST /servers/{server_id}/action#reboot",   unique and stable
        "method": "POST", "path": "/servers/{server_id}/action",
        "action": "reboot" | null,                          body key of an action
        "handler": "module:Class.method",
        "versions": {"min": "2.1" | null, "max": "2.x" | null},   null = open
        "removed": null | {"release": "23.0.0", "status": 410},
        "request":  [{"min": .., "max": .., "schema": {...}}],
        "query":    [{"min": .., "max": .., "schema": {...}}],
        "response": [{"min": .., "max": .., "schema": {...}}],
        "status":   [{"min": .., "max": .., "codes": [200]}],
        "errors":   [{"min": .., "max": .., "codes": [400, 404]}]
     }]}

Every list is in a deterministic order; keys are sorted when written.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable

FORMAT = 1
STATUS_IN_CODE = re.compile(r"webob\.Response\(\s*status_int\s*=\s*(\d{3})")


def version_text(value: Any) -> str | None:
    """A version bound as `X.Y`, or None when open (null, '', APIVersionRequest null)."""
    if value is None:
        return None
    if hasattr(value, "is_null"):
        if value.is_null():
            return None
        return f"{value.ver_major}.{value.ver_minor}"
    text = str(value).strip()
    return text or None


def jsonable(value: Any, where: str) -> Any:
    """A deep copy of a schema as plain JSON; anything else is an error naming `where`."""
    if isinstance(value, dict):
        out = {str(k): jsonable(v, f"{where}/{k}") for k, v in value.items()}
        # An enum is a set: services build some from Python sets, whose order changes from
        # run to run (hash randomisation). Sorted, the dump is the same every time.
        if isinstance(out.get("enum"), list):
            out["enum"] = sorted(out["enum"], key=lambda v: json.dumps(v, sort_keys=True))
        return out
    if isinstance(value, (list, tuple)):
        return [jsonable(v, f"{where}/{i}") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v, f"{where}/*") for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "pattern"):  # a compiled regex
        return value.pattern
    raise TypeError(f"{where}: {type(value).__name__} is not JSON")


def schema_variants(container: Any, where: str) -> list[dict]:
    """Variants of a microversioned schema container (`Schemas._schemas`) or a single schema."""
    if container is None:
        return []
    if hasattr(container, "_schemas"):
        return [
            {"min": version_text(lo), "max": version_text(hi),
             "schema": jsonable(schema, f"{where}[{i}]")}
            for i, (schema, lo, hi) in enumerate(container._schemas)
        ]
    return [{"min": None, "max": None, "schema": jsonable(container, where)}]


def unwrap_chain(func: Callable) -> list[Callable]:
    """The function and everything below it through `__wrapped__`, outermost first."""
    chain, seen = [], set()
    while func is not None and id(func) not in seen:
        seen.add(id(func))
        chain.append(func)
        func = getattr(func, "__wrapped__", None)
    return chain


def closure_values(func: Callable) -> dict[str, Any]:
    """The nonlocal variables a decorator's wrapper closes over."""
    try:
        return dict(inspect.getclosurevars(func).nonlocals)
    except (TypeError, ValueError):
        return {}


def source_of(func: Callable) -> str:
    """The source text of the innermost function, or '' when unavailable."""
    inner = unwrap_chain(func)[-1]
    try:
        return inspect.getsource(inner)
    except (OSError, TypeError):
        return ""


def handler_name(func: Callable) -> str:
    inner = unwrap_chain(func)[-1]
    return f"{inner.__module__}:{inner.__qualname__}"


def package_version(name: str) -> str:
    return metadata.version(name)


def operation_key(method: str, path: str, action: str | None) -> str:
    return f"{method} {path}" + (f"#{action}" if action else "")


def write_dump(service: str, package: str, microversions: dict | None,
               operations: Iterable[dict]) -> dict:
    ops = sorted(operations, key=lambda o: (o["path"], o["method"], o.get("action") or ""))
    keys = [o["key"] for o in ops]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise SystemExit(f"duplicate operation keys: {duplicates}")
    return {
        "format": FORMAT,
        "service": service,
        "package": {"name": package, "version": package_version(package)},
        "microversions": microversions,
        "operations": ops,
    }


def counts(dump: dict) -> dict[str, int]:
    ops = [o for o in dump["operations"] if not o.get("root")]
    removed = sum(1 for o in ops if o.get("removed"))
    actions = sum(1 for o in ops if o.get("action") and not o.get("removed"))
    return {"operations": len(ops), "live": len(ops) - removed, "removed": removed,
            "live_actions": actions, "root": len(dump["operations"]) - len(ops)}


def main(service: str, build: Callable[[], dict], default_out: str) -> None:
    """Command line shared by the dump scripts."""
    parser = argparse.ArgumentParser(description=f"Dump the {service} API declared by the "
                                     "installed package as neutral JSON.")
    parser.add_argument("--out", default=default_out, help="where to write (default %(default)s)")
    parser.add_argument("--expect", metavar="TOTAL,LIVE,REMOVED",
                        help="fail unless the operation counts are exactly these")
    args = parser.parse_args()
    dump = build()
    numbers = counts(dump)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(dump, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, out)
    print(f"{service}: {numbers['operations']} operations ({numbers['live']} live, "
          f"{numbers['removed']} removed; {numbers['live_actions']} live actions; "
          f"{numbers['root']} unversioned root documents) -> {out}")
    if args.expect:
        want = [int(x) for x in args.expect.split(",")]
        got = [numbers["operations"], numbers["live"], numbers["removed"]][: len(want)]
        if got != want:
            sys.exit(f"{service}: expected counts {want}, got {got}")
