"""Dump Keystone's identity v3 API as declared by the installed keystone package.

Run with the services' venv: target/squall-services/venv/bin/python scripts/dump/keystone.py
Builds the Flask application in-process (no config files, no database, nothing contacted) and
walks its URL rules. Keystone has no microversions: every range is open.
"""

from __future__ import annotations

import http.client
import re
import sys
import warnings
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
sys.path.insert(0, HERE)
import common  # noqa: E402

# This file's name shadows the package it dumps: import the package, not the script.
sys.path[:] = [p for p in sys.path if p not in (HERE, "") and Path(p).resolve() != Path(HERE)]
sys.modules.pop("keystone", None)

RULE_PARAM = re.compile(r"<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>")
STATUS = re.compile(r"http\.client\.([A-Z_]+)")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def application():
    warnings.simplefilter("ignore")
    import keystone.conf
    from keystone.server.flask import application as flask_app
    keystone.conf.configure()
    keystone.conf.CONF([], project="keystone")
    return flask_app.application_factory()


def single(func, attribute: str, where: str) -> list[dict]:
    """A Keystone validation decorator leaves one schema on its wrapper (None: not declared)."""
    for level in common.unwrap_chain(func):
        if hasattr(level, attribute):
            schema = getattr(level, attribute)
            if schema is None:
                if attribute != "_response_body_schema":
                    return []
                # Declared with None: the response has no body (e.g. 204).
                schema = {"type": "null"}
            return [{"min": None, "max": None, "schema": common.jsonable(schema, where)}]
    return []


def statuses(source: str) -> list[int]:
    """Success statuses a handler returns in code (`return body, http.client.CREATED`)."""
    codes = set()
    for name in STATUS.findall(source):
        status = getattr(http.client, name, None)
        if isinstance(status, int) and 200 <= status < 300:
            codes.add(int(status))
    return sorted(codes) or [200]


def build() -> dict:
    app = application()
    ops = []
    seen = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        cls = getattr(view, "view_class", None)
        if cls is None:
            continue
        path = RULE_PARAM.sub(r"{\1}", rule.rule)
        for method in METHODS:
            if method not in rule.methods:
                continue
            func = cls.__dict__.get(method.lower())
            if func is None:
                # inherited handlers count too, but Flask's implicit HEAD for GET does not
                func = next((getattr(base, method.lower()) for base in cls.__mro__[1:]
                             if method.lower() in base.__dict__), None)
            if func is None or (method, path) in seen:
                continue
            seen.add((method, path))
            where = common.operation_key(method, path, None)
            ops.append({
                "key": where,
                "method": method,
                "path": path,
                "action": None,
                "handler": common.handler_name(func),
                "versions": {"min": None, "max": None},
                "removed": None,
                "request": single(func, "_request_body_schema", f"{where} request"),
                "query": single(func, "_request_query_schema", f"{where} query"),
                "response": single(func, "_response_body_schema", f"{where} response"),
                "status": [{"min": None, "max": None, "codes": statuses(common.source_of(func))}],
                "errors": [],
            })
    return common.write_dump("identity", "keystone", None, ops)


if __name__ == "__main__":
    common.main("identity", build, "target/squall-dump/identity.json")
