"""Dump Nova's compute API as declared by the installed nova package.

Run with the services' venv: target/squall-services/venv/bin/python scripts/dump/nova.py
Builds the API router in-process (fake RPC transport, no database, no service contacted) and
walks its routes; each `POST .../action` route becomes one operation per action.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
sys.path.insert(0, HERE)
import common  # noqa: E402

# This file's name shadows the package it dumps: import the package, not the script.
sys.path[:] = [p for p in sys.path if p not in (HERE, "") and Path(p).resolve() != Path(HERE)]
sys.modules.pop("nova", None)

REMOVED = re.compile(r"@wsgi\.removed\(\s*['\"]([^'\"]+)['\"]")


def router():
    warnings.simplefilter("ignore")
    import nova.conf
    import nova.config
    import nova.rpc
    nova.config.parse_args([])
    nova.conf.CONF.set_override("transport_url", "fake:/")
    nova.rpc.init(nova.conf.CONF)
    from nova.api.openstack import compute
    return compute.APIRouterV21()


def route_path(route) -> str:
    return "".join("{" + p["name"] + "}" if isinstance(p, dict) else p for p in route.routelist)


def errors_of(func) -> list[dict]:
    """`@wsgi.expected_errors` leaves its arguments only in its wrapper's closure."""
    out = []
    for level in common.unwrap_chain(func):
        values = common.closure_values(level)
        if "errors" in values and "f" in values:
            codes = values["errors"]
            codes = [codes] if isinstance(codes, int) else list(codes)
            out.append({"min": common.version_text(values.get("min_version")),
                        "max": common.version_text(values.get("max_version")),
                        "codes": sorted(set(codes))})
    out.sort(key=lambda e: (e["min"] or "", e["max"] or ""))
    return out


def status_of(func, source: str) -> list[dict]:
    codes = getattr(func, "wsgi_codes", None)
    if codes is not None and codes._codes:
        entries = [{"min": common.version_text(lo), "max": common.version_text(hi), "codes": [c]}
                   for c, lo, hi in codes._codes]
        # A handler may also answer with a status set in code (e.g. 202 below some version).
        extra = sorted({int(c) for c in common.STATUS_IN_CODE.findall(source)})
        for entry in entries:
            entry["codes"] = sorted(set(entry["codes"]) | set(extra))
        return entries
    in_code = sorted({int(c) for c in common.STATUS_IN_CODE.findall(source)})
    return [{"min": None, "max": None, "codes": in_code or [200]}]


def operation(method: str, path: str, action: str | None, func, root: bool = False) -> dict:
    source = common.source_of(func)
    removed = None
    if getattr(func, "removed", False):
        # @wsgi.removed stores the reason where the version belongs; read it from the source.
        found = REMOVED.search(source)
        removed = {"release": found.group(1) if found else None, "status": 410}
    where = common.operation_key(method, path, action) + (" (root)" if root else "")
    return {
        "key": where,
        "root": root,
        "method": method,
        "path": path,
        "action": action,
        "handler": common.handler_name(func),
        "versions": {"min": common.version_text(getattr(func, "min_version", None)),
                     "max": common.version_text(getattr(func, "max_version", None))},
        "removed": removed,
        "request": common.schema_variants(getattr(func, "request_body_schemas", None),
                                          f"{where} request"),
        "query": common.schema_variants(getattr(func, "request_query_schemas", None),
                                        f"{where} query"),
        "response": common.schema_variants(getattr(func, "response_body_schemas", None),
                                           f"{where} response"),
        "status": status_of(func, source),
        "errors": errors_of(func),
    }


def build() -> dict:
    api = router()
    from nova.api.openstack import api_version_request as avr
    seen: set[tuple[str, str]] = set()
    ops = []
    for route in api.map.matchlist:
        if "controller" not in route.defaults:
            continue
        path = route_path(route)
        if path.startswith("/{project_id}"):
            continue  # the same routes again, with the legacy project prefix
        methods = route.conditions.get("method", ["GET"]) if route.conditions else ["GET"]
        resource = route.defaults["controller"]
        for method in methods:
            if (method, path) in seen:
                continue
            seen.add((method, path))
            if path.endswith("/action"):
                for name, func in sorted(resource.wsgi_actions.items()):
                    ops.append(operation(method, path, name, func))
            else:
                func = getattr(resource.controller, route.defaults["action"])
                ops.append(operation(method, path, None, func))
    # The unversioned root document (GET / outside /v2.1) is its own WSGI app, not a route.
    from nova.api.openstack.compute import versions
    ops.append(operation("GET", "/", None, versions.Versions.index, root=True))
    return common.write_dump(
        "compute", "nova", {"min": avr._MIN_API_VERSION, "max": avr._MAX_API_VERSION}, ops)


if __name__ == "__main__":
    common.main("compute", build, "target/squall-dump/compute.json")
