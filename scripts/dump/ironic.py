"""Dump Ironic's bare metal API as declared by the installed ironic package.

Run with the services' venv: target/squall-services/venv/bin/python scripts/dump/ironic.py
Walks the pecan controller tree under `ironic.api.controllers.v1.Controller` in-process (no
configuration, database or service) the way pecan's RestController routes a request, and dumps
every controller method that declares a schema (`ironic/api/validation`: request body, query,
path parameter or response schemas). Methods that declare none are counted, not dumped.

What is read, and from where:
- paths: the v1 root's `_subcontroller_map`; a RestController's `get_all`/`get`/`get_one`/
  `post`/`put`/`patch`/`delete` (ids named after the handler's required arguments), its
  `_custom_actions` (`/{id}/name`), its controller attributes (`/{id}/child`) and its own
  `_subcontroller_map` reached through `_lookup` (under an id when `_lookup` dispatches on
  `remainder[0]`). A handler that refuses to run under a parent (`if self.parent_...: raise`)
  is not dumped under the nested path. `_default` (vendor passthru) answers every method.
- versions: `@validation.api_version` (`min_version`/`max_version`, Ironic stores the minor
  number), intersected with the gates Ironic checks in code rather than declares:
  `if not api_utils.allow_x(): raise/abort` in the handler, the controller's `_route`, or the
  parent's `_lookup` (also `remainder[0] == 'name' and not api_utils.allow_x()`). Each gate is
  evaluated at every minor version with a stand-in request, so its range is Ironic's own.
- schemas: `request_body_schemas`, `request_query_schemas`, `response_body_schemas` (a
  `Schemas` list of (schema, min minor, max minor)); the path-parameter schemas
  (`request_parameter_schemas`) that validate an argument which is not in the path (passthru's
  `method`) become the query schema.
- status: `@method.expose(status_code=...)` (its closure), else 200. `expose()` never answers a
  body with 204, so a 204 handler without a response schema answers `{"type": "null"}`.
- errors: Ironic declares none.
- draft: Ironic validates with JSON Schema 2020-12, the spec format is draft 4. The one construct
  of Ironic's schemas that draft 4 refuses, an empty `required` (a no-op), is dropped; a keyword
  that draft 4 would read differently stops the dump (DRAFT_2020_ONLY).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import re
import sys
import types
import warnings
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
sys.path.insert(0, HERE)
import common  # noqa: E402

# This file's name shadows the package it dumps: import the package, not the script.
sys.path[:] = [p for p in sys.path if p not in (HERE, "") and Path(p).resolve() != Path(HERE)]
sys.modules.pop("ironic", None)

HANDLERS = (("get_all", "GET"), ("get", "GET"), ("get_one", "GET"), ("post", "POST"),
            ("put", "PUT"), ("patch", "PATCH"), ("delete", "DELETE"))
ANY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE")
KEYED_GATE = re.compile(r"remainder\[0\] == '(\w+)'\s*and not api_utils\.(allow_\w+)\(\)")
PARENT_ONLY = re.compile(r"if self\.parent_\w+\s*:\s*\n(?:\s*#.*\n)*\s*raise")
DRAFT_2020_ONLY = {"const", "prefixItems", "$defs", "dependentRequired", "dependentSchemas",
                   "unevaluatedProperties", "unevaluatedItems", "if", "then", "else",
                   "exclusiveMinimum", "exclusiveMaximum", "contains", "propertyNames", "$ref"}
LOOKUP_UNDER_ID = re.compile(r"_subcontroller_map\.get\(\s*remainder\[0\]\s*\)")


class Walker:
    def __init__(self, max_minor: int):
        from pecan import rest
        from ironic.api.controllers.v1 import utils as api_utils
        self.rest = rest
        self.api_utils = api_utils
        self.max_minor = max_minor
        self.gates: dict[str, tuple[int, int]] = {}
        self.ops: list[dict] = []
        self.undeclared: set[str] = set()
        self.seen: set[tuple[str, str]] = set()
        self.roots: set[type] = set()

    # -- version gates ------------------------------------------------------------------------

    def gate(self, name: str) -> tuple[int, int]:
        """The minor versions where `api_utils.<name>()` allows, evaluated at each one."""
        if name not in self.gates:
            import ironic.api as api
            func = getattr(self.api_utils, name)
            saved = api.request
            allowed = []
            try:
                for minor in range(1, self.max_minor + 1):
                    api.request = types.SimpleNamespace(
                        version=types.SimpleNamespace(major=1, minor=minor))
                    if func():
                        allowed.append(minor)
            finally:
                api.request = saved
            if not allowed or allowed != list(range(allowed[0], allowed[-1] + 1)):
                raise SystemExit(f"gate {name} is not one range: {allowed}")
            self.gates[name] = (allowed[0], allowed[-1])
        return self.gates[name]

    def gates_in(self, source: str) -> list[tuple[int, int]]:
        return [self.gate(name) for name in refusals(source)]

    # -- handlers -----------------------------------------------------------------------------

    @staticmethod
    def body_arg(func) -> str | None:
        for level in common.unwrap_chain(func):
            values = common.closure_values(level)
            if "body_arg" in values:
                return values["body_arg"]
        return None

    def required(self, func) -> list[str]:
        """Positional arguments without a default, the request body's excluded."""
        inner = common.unwrap_chain(func)[-1]
        body = self.body_arg(func)
        return [p.name for p in inspect.signature(inner).parameters.values()
                if p.kind == p.POSITIONAL_OR_KEYWORD and p.name != "self"
                and p.default is p.empty and p.name != body]

    @staticmethod
    def status(func) -> int:
        for level in common.unwrap_chain(func):
            values = common.closure_values(level)
            if "status_code" in values and "f" in values:
                return int(values["status_code"] or 200)
        return 200

    @staticmethod
    def find(cls, name):
        for base in cls.__mro__:
            if name in base.__dict__:
                return base.__dict__[name]
        return None

    def rest_class(self, value):
        cls = value if isinstance(value, type) else type(value)
        return cls if issubclass(cls, self.rest.RestController) else None

    # -- the walk -----------------------------------------------------------------------------

    def walk(self, cls, prefix: str, carried: list[str], nested: bool,
             gates: list[tuple[int, int]], via_attribute: bool = False) -> None:
        """`nested`: built by a parent with its id (`node_ident=`), so `self.parent_*` is set."""
        route = self.find(cls, "_route")
        if route is not None and getattr(route, "__qualname__", "").split(".")[0] != "RestController":
            gates = gates + self.gates_in(common.source_of(route))

        def emit(method: str, name: str, func, path: str, extra: list[str]):
            self.handler(cls, method, name, func, path, extra, nested, gates)

        for name, method in HANDLERS:
            func = self.find(cls, name)
            if func is None:
                continue
            rest = self.required(func)[len(carried):]
            ids = rest if name in ("get_one", "put", "patch", "delete") else []
            path = prefix + "".join("/{" + a + "}" for a in ids)
            emit(method, name, func, path, rest[len(ids):])
        for action, methods in sorted((self.find(cls, "_custom_actions") or {}).items()):
            for method in methods:
                func = self.find(cls, f"{method.lower()}_{action}") or self.find(cls, action)
                rest = self.required(func)[len(carried):]
                path = prefix + "".join("/{" + a + "}" for a in rest) + "/" + action
                emit(method, action, func, path, [])
        default = self.find(cls, "_default")
        if default is not None and hasattr(default, "__wrapped__"):
            rest = self.required(default)[len(carried):]
            for method in ANY_METHOD:
                emit(method, "_default", default, prefix, rest)

        if cls in self.roots and via_attribute:
            return  # a top-level resource mounted again as an attribute (chassis' nodes)
        # The id a child is mounted under: the first argument get_one/get takes beyond the parent's.
        ident = None
        for name in ("get_one", "get", "patch", "delete"):
            func = self.find(cls, name)
            if func is not None and len(self.required(func)) > len(carried):
                ident = self.required(func)[len(carried)]
                break
        for attr in sorted(dir(cls)):
            if attr.startswith("_"):
                continue
            child = self.rest_class(getattr(cls, attr, None))
            if child is None or isinstance(getattr(cls, attr), type):
                continue
            if ident:
                self.walk(child, f"{prefix}/{{{ident}}}/{attr}", carried + [ident], nested,
                          gates, True)
            else:
                self.walk(child, f"{prefix}/{attr}", carried, nested, gates, True)
        submap = self.find(cls, "_subcontroller_map")
        if submap:
            lookup = self.find(cls, "_lookup")
            source = common.source_of(lookup) if lookup is not None else ""
            under_id = bool(LOOKUP_UNDER_ID.search(source))
            common_gates = self.gates_in(source)
            keyed = {k: self.gate(g) for k, g in KEYED_GATE.findall(source)}
            for key, value in sorted(submap.items()):
                child = self.rest_class(value)
                if child is None:
                    continue
                more = common_gates + ([keyed[key]] if key in keyed else [])
                if under_id:
                    if not ident:
                        raise SystemExit(f"{cls.__name__}: no id to mount {key} under")
                    where = f"{prefix}/{{{ident}}}/{key}"
                else:
                    where = f"{prefix}/{key}"
                # A mapped child is built with the parent's id (node_ident=...), not given it.
                self.walk(child, where, [], nested or under_id, gates + more)

    def handler(self, cls, method, name, func, path, extra, nested, gates):
        label = f"{cls.__module__}:{cls.__name__}.{name}"
        declared = {a: getattr(func, a, None) for a in (
            "request_body_schemas", "request_query_schemas", "response_body_schemas",
            "request_parameter_schemas")}
        if not any(declared.values()):
            self.undeclared.add(label)
            return
        source = common.source_of(func)
        if nested and PARENT_ONLY.search(source):
            return
        if (method, path) in self.seen:
            raise SystemExit(f"{method} {path} reached twice ({label})")
        self.seen.add((method, path))
        where = common.operation_key(method, path, None)
        lo, hi = getattr(func, "min_version", None), getattr(func, "max_version", None)
        ranges = gates + self.gates_in(source) + [(lo or 1, hi or self.max_minor)]
        low = max(r[0] for r in ranges)
        high = min(r[1] for r in ranges)
        if low > high:
            return
        status = self.status(func)
        response = schema_variants(declared["response_body_schemas"], f"{where} response")
        if not response and status == 204:
            response = [{"min": None, "max": None, "schema": {"type": "null"}}]
        query = schema_variants(declared["request_query_schemas"], f"{where} query")
        if extra and not query:
            query = parameter_query(declared["request_parameter_schemas"], extra,
                                    f"{where} parameters")
        self.ops.append({
            "key": where,
            "method": method,
            "path": path,
            "action": None,
            "handler": common.handler_name(func),
            "versions": {"min": minor_text(low, 1), "max": minor_text(high, self.max_minor)},
            "removed": None,
            "request": schema_variants(declared["request_body_schemas"], f"{where} request"),
            "query": query,
            "response": response,
            "status": [{"min": None, "max": None, "codes": [status]}],
            "errors": [],
        })


def refusals(source: str) -> list[str]:
    """`api_utils.allow_x` of every top-level `if not api_utils.allow_x(): ... raise/abort`."""
    if not source:
        return []
    tree = ast.parse(textwrap.dedent(source))
    func = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)), None)
    out = []
    for stmt in func.body if func else []:
        test = getattr(stmt, "test", None)
        if not (isinstance(stmt, ast.If) and isinstance(test, ast.UnaryOp)
                and isinstance(test.op, ast.Not) and isinstance(test.operand, ast.Call)):
            continue
        called = test.operand.func
        if not (isinstance(called, ast.Attribute) and isinstance(called.value, ast.Name)
                and called.value.id == "api_utils" and called.attr.startswith("allow_")):
            continue
        refuses = any(isinstance(n, ast.Raise) or (
            isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "abort")
            for part in stmt.body for n in ast.walk(part))
        if refuses:
            out.append(called.attr)
    return out


def minor_text(minor: int | None, open_at: int | None = None) -> str | None:
    """Ironic stores a bound as its minor number; 0, None and the axis' end are open."""
    if not minor or minor == open_at:
        return None
    return f"1.{minor}"


def draft4(schema, where: str):
    """The schema in draft 4: empty `required` lists dropped, 2020-12-only keywords refused."""
    if isinstance(schema, list):
        return [draft4(s, f"{where}/{i}") for i, s in enumerate(schema)]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in DRAFT_2020_ONLY:
            raise SystemExit(f"{where}: `{key}` reads differently in draft 4; convert it first")
        if key == "required" and value == []:
            continue
        if key in ("properties", "patternProperties"):
            value = {k: draft4(v, f"{where}/{key}/{k}") for k, v in value.items()}
        elif key in ("items", "anyOf", "oneOf", "allOf", "not", "additionalProperties"):
            value = draft4(value, f"{where}/{key}")
        out[key] = value
    return out


def schema_variants(container, where: str) -> list[dict]:
    if container is None:
        return []
    return [{"min": minor_text(lo), "max": minor_text(hi),
             "schema": draft4(common.jsonable(schema, f"{where}[{i}]"), f"{where}[{i}]")}
            for i, (schema, lo, hi) in enumerate(container._schemas)]


def parameter_query(container, names: list[str], where: str) -> list[dict]:
    """The arguments outside the path (passthru's `method`) come from the query string: their
    part of the path-parameter schema becomes the query schema."""
    out = []
    for variant in schema_variants(container, where):
        schema = variant["schema"]
        props = {k: v for k, v in schema.get("properties", {}).items() if k in names}
        query = {"type": "object", "properties": props,
                 "required": [k for k in schema.get("required", []) if k in names],
                 "additionalProperties": False}
        out.append({**variant, "schema": query})
    return out


def build() -> dict:
    warnings.simplefilter("ignore")
    from ironic.api.controllers import v1
    from ironic.api.controllers.v1 import versions
    walker = Walker(versions.MINOR_MAX_VERSION)
    walker.roots = {walker.rest_class(v) for v in v1.Controller._subcontroller_map.values()}
    for key, value in sorted(v1.Controller._subcontroller_map.items()):
        child = walker.rest_class(value)
        if child is not None:
            walker.walk(child, f"/v1/{key}", [], False, [])
    dump = common.write_dump(
        "baremetal", "ironic",
        {"min": versions.min_version_string(), "max": versions.max_version_string()},
        walker.ops)
    print(f"baremetal: {len(walker.undeclared)} handlers reached declare no schema "
          "(not dumped)", file=sys.stderr)
    return dump


if __name__ == "__main__":
    common.main("baremetal", build, "target/squall-dump/baremetal.json")
