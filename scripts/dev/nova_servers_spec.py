"""Write specs/compute/*/servers.yaml from the schemas Nova declares on its controllers.

A development tool, run with the services' venv (it imports the installed nova package; nothing
runs or is contacted):

    target/squall-services/venv/bin/python scripts/dev/nova_servers_spec.py [--check]

For every operation below it reads, per microversion, what Nova's decorators left on the
controller method: the request body, query and response body schemas
(``@validation.schema``, ``query_schema``, ``response_body_schema``), the success code
(``@wsgi.response``, 200 without it), the expected errors (``@wsgi.expected_errors``, from the
decorator's closure) and the version range (``@wsgi.api_version``).  It writes the complete
group at 2.1 and, at each later microversion where anything changes, only the JSON Patch from
the version before.  Two rewrites keep the schemas within what squall's draft-4 validator
reads: ``const: x`` becomes ``enum: [x]``, string enums are sorted (some come from Python
sets), enums typify cannot name (``HARD``/``hard``, or Nova's booleans spelt as strings)
become an equivalent ``pattern`` over their strings, an action with no declared body gets ``{<action>: anything}`` (its key dispatches
it), and the printable-characters pattern of
descriptions (thousands of Unicode ranges in a Python regex) is left out.
"""

from __future__ import annotations

import copy
import importlib
import re
import inspect
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

import nova.config  # noqa: E402
import yaml  # noqa: E402
from nova.api.openstack import api_version_request as avr  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "specs" / "compute"
MAX = (2, 104)
S = "/servers/{server_id}"
A = S + "/action"

#: name, method, path, module, controller, method, summary (our words)
OPERATIONS = [
    ("list_servers", "GET", "/servers", "servers", "ServersController", "index",
     "List servers: id, name and links."),
    ("list_servers_detail", "GET", "/servers/detail", "servers", "ServersController", "detail",
     "List servers with all their attributes."),
    ("show_server", "GET", S, "servers", "ServersController", "show",
     "Show one server; admins also see its host, hypervisor and instance name."),
    ("create_server", "POST", "/servers", "servers", "ServersController", "create",
     "Create (boot) a server."),
    ("update_server", "PUT", S, "servers", "ServersController", "update",
     "Update a server: its name, description, hostname or access addresses."),
    ("delete_server", "DELETE", S, "servers", "ServersController", "delete",
     "Delete a server."),
    ("reboot_server", "POST", A, "servers", "ServersController", "_reboot",
     "Reboot a server, soft or hard (action `reboot`)."),
    ("resize_server", "POST", A, "servers", "ServersController", "_resize",
     "Resize a server to another flavor (action `resize`)."),
    ("confirm_resize_server", "POST", A, "servers", "ServersController", "_confirm_resize",
     "Confirm a resize or cold migration (action `confirmResize`)."),
    ("revert_resize_server", "POST", A, "servers", "ServersController", "_revert_resize",
     "Revert a resize or cold migration (action `revertResize`)."),
    ("rebuild_server", "POST", A, "servers", "ServersController", "_rebuild",
     "Rebuild a server from an image (action `rebuild`)."),
    ("create_server_image", "POST", A, "servers", "ServersController", "_create_image",
     "Snapshot a server into an image (action `createImage`)."),
    ("start_server", "POST", A, "servers", "ServersController", "_start",
     "Start a stopped server (action `os-start`)."),
    ("stop_server", "POST", A, "servers", "ServersController", "_stop",
     "Stop a server (action `os-stop`)."),
    ("trigger_crash_dump", "POST", A, "servers", "ServersController", "_trigger_crash_dump",
     "Trigger a crash dump in a server (action `trigger_crash_dump`)."),
    ("lock_server", "POST", A, "lock_server", "LockServerController", "_lock",
     "Lock a server against changes by non-admins (action `lock`)."),
    ("unlock_server", "POST", A, "lock_server", "LockServerController", "_unlock",
     "Unlock a server (action `unlock`)."),
    ("pause_server", "POST", A, "pause_server", "PauseServerController", "_pause",
     "Pause a server (action `pause`)."),
    ("unpause_server", "POST", A, "pause_server", "PauseServerController", "_unpause",
     "Unpause a server (action `unpause`)."),
    ("suspend_server", "POST", A, "suspend_server", "SuspendServerController", "_suspend",
     "Suspend a server (action `suspend`)."),
    ("resume_server", "POST", A, "suspend_server", "SuspendServerController", "_resume",
     "Resume a suspended server (action `resume`)."),
    ("shelve_server", "POST", A, "shelve", "ShelveController", "_shelve",
     "Shelve a server (action `shelve`)."),
    ("shelve_offload_server", "POST", A, "shelve", "ShelveController", "_shelve_offload",
     "Offload a shelved server from its host (action `shelveOffload`)."),
    ("unshelve_server", "POST", A, "shelve", "ShelveController", "_unshelve",
     "Unshelve a server (action `unshelve`)."),
    ("migrate_server", "POST", A, "migrate_server", "MigrateServerController", "_migrate",
     "Cold-migrate a server to another host (action `migrate`)."),
    ("live_migrate_server", "POST", A, "migrate_server", "MigrateServerController",
     "_migrate_live", "Live-migrate a server to another host (action `os-migrateLive`)."),
    ("evacuate_server", "POST", A, "evacuate", "EvacuateController", "_evacuate",
     "Rebuild a server of a down host on another host (action `evacuate`)."),
    ("list_server_metadata", "GET", S + "/metadata", "server_metadata",
     "ServerMetadataController", "index", "List a server's metadata."),
    ("update_server_metadata", "POST", S + "/metadata", "server_metadata",
     "ServerMetadataController", "create", "Add or change metadata items of a server."),
    ("replace_server_metadata", "PUT", S + "/metadata", "server_metadata",
     "ServerMetadataController", "update_all", "Replace all the metadata of a server."),
    ("show_server_metadata_item", "GET", S + "/metadata/{key}", "server_metadata",
     "ServerMetadataController", "show", "Show one metadata item of a server."),
    ("set_server_metadata_item", "PUT", S + "/metadata/{key}", "server_metadata",
     "ServerMetadataController", "update", "Set one metadata item of a server."),
    ("delete_server_metadata_item", "DELETE", S + "/metadata/{key}", "server_metadata",
     "ServerMetadataController", "delete", "Delete one metadata item of a server."),
    ("list_server_tags", "GET", S + "/tags", "server_tags", "ServerTagsController", "index",
     "List a server's tags."),
    ("replace_server_tags", "PUT", S + "/tags", "server_tags", "ServerTagsController",
     "update_all", "Replace all the tags of a server."),
    ("delete_server_tags", "DELETE", S + "/tags", "server_tags", "ServerTagsController",
     "delete_all", "Delete all the tags of a server."),
    ("check_server_tag", "GET", S + "/tags/{tag}", "server_tags", "ServerTagsController",
     "show", "Check that a server has a tag (204, or 404)."),
    ("add_server_tag", "PUT", S + "/tags/{tag}", "server_tags", "ServerTagsController",
     "update", "Add a tag to a server."),
    ("delete_server_tag", "DELETE", S + "/tags/{tag}", "server_tags", "ServerTagsController",
     "delete", "Delete a tag of a server."),
    ("list_instance_actions", "GET", S + "/os-instance-actions", "instance_actions",
     "InstanceActionsController", "index", "List the actions taken on a server."),
    ("show_instance_action", "GET", S + "/os-instance-actions/{request_id}",
     "instance_actions", "InstanceActionsController", "show",
     "Show one action taken on a server, with its events."),
]


#: Success codes a handler sets in its code rather than by decorator (read from the source):
#: adding a tag answers 201, or 204 when the server has it already (server_tags.update).
STATUS_SET_IN_CODE = {"add_server_tag": [201, 204]}


def ver(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    major, minor = text.split(".")
    return int(major), int(minor)


def vstr(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


def bound(req: avr.APIVersionRequest) -> tuple[int, int] | None:
    return None if req.is_null() else ver(req.get_string())


def in_range(v, lo, hi) -> bool:
    return (lo is None or v >= lo) and (hi is None or v <= hi)


def pick(schemas, v):
    """The schema of a Schemas container that covers v (None if none or no container)."""
    if schemas is None:
        return None
    for schema, lo, hi in schemas._schemas:
        if in_range(v, bound(lo), bound(hi)):
            return schema
    return None


def closures(func):
    """(code qualname, nonlocals) of every wrapper down to the function."""
    found = []
    while func is not None:
        try:
            nonlocals = inspect.getclosurevars(func).nonlocals
        except (TypeError, ValueError):
            nonlocals = {}
        found.append((func.__code__.co_qualname, nonlocals))
        func = getattr(func, "__wrapped__", None)
    return found


def facts(func, v):
    """The operation's facets at v, or None when it does not exist at v."""
    errors: set[int] = set()
    for qualname, nonlocals in closures(func):
        if qualname.startswith("api_version."):
            if not in_range(v, ver(nonlocals.get("min_version")),
                            ver(nonlocals.get("max_version"))):
                return None
        if qualname.startswith("expected_errors."):
            if in_range(v, ver(nonlocals.get("min_version")), ver(nonlocals.get("max_version"))):
                value = nonlocals["errors"]
                errors |= set(value if isinstance(value, (tuple, list)) else [value])
    status = 200
    codes = getattr(func, "wsgi_codes", None)
    if codes is not None:
        for code, lo, hi in codes._codes:
            if in_range(v, ver(lo), ver(hi)):
                status = code
                break
    return {
        "request": pick(getattr(func, "request_body_schemas", None), v)
        or action_body(func),
        "query": pick(getattr(func, "request_query_schemas", None), v),
        "response": pick(getattr(func, "response_body_schemas", None), v),
        "status": status,
        "errors": sorted(errors),
    }


def needs_pattern(values) -> bool:
    """Enums that typify cannot name: case-insensitive duplicates, or strings mixed with both
    booleans (Nova's boolean-ish parameters).  They become a pattern over the strings."""
    strings = [item for item in values if isinstance(item, str)]
    if len({item.lower() for item in strings}) < len(strings):
        return True
    return bool(strings) and True in values and False in values


def action_body(func):
    """An action with no declared body schema still needs its key to be dispatched."""
    action = getattr(func, "wsgi_action", None)
    if action is None:
        return None
    return {"type": "object", "properties": {action: {}}, "required": [action]}


PRINTABLE_PATTERN_PREFIX = "^[\\ -\\~"


def clean(schema):
    """Draft-4 forms: ``const`` -> ``enum``; drop the printable-characters pattern."""
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key == "const":
                out["enum"] = [value]
            elif key == "enum" and needs_pattern(value):
                strings = sorted(item for item in value if isinstance(item, str))
                out["pattern"] = "^(" + "|".join(re.escape(item) for item in strings) + ")$"
            elif key == "enum" and all(isinstance(item, str) for item in value):
                # Some enums are built from Python sets: sorted, for a stable output.
                out["enum"] = sorted(value)
            elif key == "pattern" and isinstance(value, str) and \
                    value.startswith(PRINTABLE_PATTERN_PREFIX) and len(value) > 200:
                continue
            else:
                out[key] = clean(value)
        return out
    if isinstance(schema, list):
        return [clean(item) for item in schema]
    return schema


def narrow_query(schema):
    """squall's annotations for Nova's query arrays where one value is meant: ``limit`` is one
    ``u32`` and ``marker`` one string (``x-squall-query: single``, ``x-squall-type: u32``)."""
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    for name in ("limit", "marker"):
        prop = props.get(name)
        if isinstance(prop, dict) and prop.get("type") == "array":
            prop["x-squall-query"] = "single"
            if name == "limit" and isinstance(prop.get("items"), dict):
                prop["items"]["x-squall-type"] = "u32"
    return schema


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def group_at(v, funcs):
    """The complete group document at v."""
    operations, schemas = {}, {}
    for name, method, path, _mod, _cls, _fn, summary in OPERATIONS:
        f = facts(funcs[name], v)
        if f is None:
            continue
        op = {"summary": summary, "method": method, "path": path}
        if f["query"] is not None:
            schemas[pascal(name) + "Query"] = narrow_query(clean(f["query"]))
            op["query"] = {"$ref": f"#/schemas/{pascal(name)}Query"}
        if f["request"] is not None:
            schemas[pascal(name) + "Request"] = clean(f["request"])
            op["request"] = {"$ref": f"#/schemas/{pascal(name)}Request"}
        response = {"status": STATUS_SET_IN_CODE.get(name, [f["status"]])}
        body = f["response"]
        if body is not None and body.get("type") != "null":
            schemas[pascal(name) + "Response"] = clean(body)
            response["body"] = {"$ref": f"#/schemas/{pascal(name)}Response"}
        op["response"] = response
        op["errors"] = f["errors"]
        operations[name] = op
    return {"operations": operations, "schemas": schemas}


def escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def diff(old, new, path=""):
    """JSON Patch from old to new (lists: appended items as `-`, else replaced whole)."""
    ops = []
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            if key not in new:
                ops.append({"op": "remove", "path": f"{path}/{escape(key)}"})
        for key, value in new.items():
            sub = f"{path}/{escape(key)}"
            if key not in old:
                ops.append({"op": "add", "path": sub, "value": value})
            elif old[key] != value:
                ops.extend(diff(old[key], value, sub))
        return ops
    if isinstance(old, list) and isinstance(new, list) and len(new) > len(old) \
            and new[:len(old)] == old:
        return [{"op": "add", "path": f"{path}/-", "value": item} for item in new[len(old):]]
    return [{"op": "replace", "path": path, "value": new}]


KINDS = ("Request", "Query", "Response")


def changed_ops(ops):
    """What changed, in words: show_server (response), trigger_crash_dump (new)."""
    schema_owner = {pascal(name) + kind: (name, kind.lower())
                    for name, *_ in OPERATIONS for kind in KINDS}
    names = []
    for op in ops:
        parts = op["path"].split("/")
        if parts[1] == "schemas":
            name, kind = schema_owner.get(parts[2], (parts[2], "schema"))
            label = f"{name} ({kind})"
        elif len(parts) == 3:
            label = f"{parts[2]} ({'new' if op['op'] == 'add' else 'removed'})"
        else:
            label = f"{parts[2]} ({parts[3]})"
        if label not in names:
            names.append(label)
    return names


class Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def dump(doc) -> str:
    return yaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=None)


HEADER = ("# Generated by scripts/dev/nova_servers_spec.py from the schemas nova 34.0.0 declares\n"
          "# on its controllers; regenerate rather than edit.\n")


def main(argv: list[str]) -> int:
    nova.config.parse_args([], default_config_files=[])
    funcs = {}
    for name, _m, _p, module, cls, fn, _s in OPERATIONS:
        controller = getattr(importlib.import_module(f"nova.api.openstack.compute.{module}"),
                             cls)
        funcs[name] = getattr(controller, fn)
    files: dict[Path, str] = {}
    previous = group_at((2, 1), funcs)
    base = {"summary": "Servers: create, list, show, update, delete, their actions, "
                       "metadata, tags and instance actions.", **copy.deepcopy(previous)}
    files[SPECS / "2.1" / "servers.yaml"] = HEADER + dump(base)
    for minor in range(2, MAX[1] + 1):
        v = (2, minor)
        current = group_at(v, funcs)
        ops = diff(previous, current)
        if ops:
            labels = changed_ops(ops)
            summary = "Changes " + ", ".join(labels) + "."
            files[SPECS / vstr(v) / "servers.yaml"] = HEADER + dump(
                {"summary": summary, "changes": ops})
        previous = current
    stale = [p for p in SPECS.glob("*/servers.yaml") if p not in files]
    if "--check" in argv:
        wrong = [p for p, text in files.items() if not p.is_file() or p.read_text() != text]
        for p in wrong + stale:
            print(f"out of date: {p.relative_to(REPO)}")
        return 1 if wrong or stale else 0
    for p in stale:
        p.unlink()
    for p, text in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    print(f"wrote {len(files)} files: " + " ".join(sorted(
        (p.parent.name for p in files), key=lambda s: tuple(map(int, s.split("."))))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
