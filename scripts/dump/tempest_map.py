"""Maps tempest.lib's service client methods onto squall's operations: docs/tempest-map.md.

    python3 scripts/dump/tempest_map.py [--check]

Reads tempest.lib's clients from the released tempest wheel (downloaded once from PyPI into
target/squall-dump/, never imported: the client modules are parsed with `ast`), finds the HTTP
method, path and server action each client method calls, and matches them against the
operations in specs/ (method, path with parameters blanked, and for `POST .../action` the
action's body key). A method that matches nothing is listed as a gap, with what it calls.
`--check` fails when docs/tempest-map.md differs from what this script writes.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import yaml

TEMPEST = "tempest==47.0.0"
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "target" / "squall-dump" / "tempest"
OUT = ROOT / "docs" / "tempest-map.md"

# squall service -> (tempest.lib package folder, prefix squall's paths carry that Tempest's
# client URLs leave to the endpoint)
SERVICES = {
    "compute": ("tempest/lib/services/compute", ""),
    "identity": ("tempest/lib/services/identity/v3", "/v3"),
    "placement": ("tempest/lib/services/placement", ""),
}
HTTP = {"get", "post", "put", "delete", "head", "patch"}
SKIP_METHODS = {"__init__", "is_resource_deleted", "resource_type", "wait_for_resource_deletion"}


def wheel() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    found = sorted(CACHE.glob("tempest-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", TEMPEST, "--no-deps",
                        "--quiet", "-d", str(CACHE)], check=True)
        found = sorted(CACHE.glob("tempest-*.whl"))
    return found[-1]


def template(node: ast.AST, names: dict[str, list[str]]) -> list[str]:
    """The path templates an expression can be, with `{}` for every substituted part."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [re.sub(r"%[sd]", "{}", node.value)]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return template(node.left, names)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [a + b for a in template(node.left, names) for b in template(node.right, names)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "format" and isinstance(node.func.value, ast.Constant):
        return [re.sub(r"\{[^}]*\}", "{}", node.func.value.value)]
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    return ["{}"]


def calls_of(func: ast.FunctionDef, helpers: dict[str, tuple[str, str]]) -> list[tuple]:
    """(METHOD, path, action) triples a client method sends."""
    names: dict[str, list[str]] = {}
    out = []
    for node in ast.walk(func):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            names[node.targets[0].id] = template(node.value, names)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and isinstance(node.op, ast.Add) and node.target.id in names:
            extra = [t for t in template(node.value, names) if t.startswith("/")]
            names[node.target.id] = names[node.target.id] + [
                base + e for base in names[node.target.id] for e in extra]
    for node in ast.walk(func):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "self"):
            continue
        attr = node.func.attr
        if attr in HTTP and node.args:
            for path in template(node.args[0], names):
                out.append((attr.upper(), path.split("?")[0], None))
        elif attr in helpers and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
            method, path = helpers[attr]
            out.append((method, path, node.args[1].value))
    return out


def tempest_methods(whl: Path, folder: str) -> dict[str, list[tuple[str, list[tuple]]]]:
    """client file -> [(method name, calls)]"""
    clients: dict[str, list] = {}
    with zipfile.ZipFile(whl) as z:
        for name in sorted(z.namelist()):
            if not (name.startswith(folder + "/") and name.endswith("_client.py")) \
                    or name.count("/") != folder.count("/") + 1:
                continue
            tree = ast.parse(z.read(name).decode())
            for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
                funcs = [f for f in cls.body if isinstance(f, ast.FunctionDef)]
                # `self.action(id, 'reboot', ...)`: a helper that posts to .../action.
                helpers = {}
                for f in funcs:
                    for method, path, _ in calls_of(f, {}):
                        if path.endswith("/action") and method == "POST" and f.name != "create":
                            helpers[f.name] = (method, path)
                methods = []
                for f in funcs:
                    if f.name.startswith("_") or f.name in SKIP_METHODS or f.name in helpers:
                        continue
                    calls = calls_of(f, helpers)
                    if calls:
                        methods.append((f.name, calls))
                if methods:
                    clients[f"{Path(name).stem}.{cls.name}"] = methods
    return clients


def squall_operations(service: str) -> list[dict]:
    """Every operation in specs/<service>: name, group, method, path, action."""
    found: dict[str, dict] = {}
    schemas: dict[str, dict] = defaultdict(dict)
    requests: dict[str, list] = defaultdict(list)
    root = ROOT / "specs" / service
    folders = sorted((d for d in root.iterdir() if d.is_dir()),
                     key=lambda d: [int(x) if x.isdigit() else 0
                                    for x in re.split(r"[.v]", d.name) if x])
    for folder in folders:
        for f in sorted(folder.glob("*.yaml")):
            doc = yaml.safe_load(f.read_text()) or {}
            group = f.stem
            schemas[group].update(doc.get("schemas") or {})
            for name, op in (doc.get("operations") or {}).items():
                found.setdefault(name, dict(op, name=name, group=group))
                if isinstance(op.get("request"), dict):
                    requests[name].append((group, op["request"]))
            for change in doc.get("changes") or []:
                path = change.get("path", "")
                m = re.fullmatch(r"/operations/([^/]+)/request", path)
                if m and isinstance(change.get("value"), dict):
                    requests[m.group(1)].append((group, change["value"]))
                m = re.fullmatch(r"/operations/([^/]+)", path)
                if m and change.get("op") == "add":
                    found.setdefault(m.group(1), dict(change["value"], name=m.group(1),
                                                      group=group))
                m = re.fullmatch(r"/schemas/([^/]+)", path)
                if m and change.get("op") in ("add", "replace"):
                    schemas[group][m.group(1)] = change["value"]
    out = []
    for op in found.values():
        action = None
        if op["path"].endswith("/action"):
            # The action is the request body's one member, at any version that declares it.
            for group, request in requests[op["name"]]:
                ref = request.get("$ref", "").rsplit("/", 1)[-1]
                schema = schemas[group].get(ref, {})
                keys = schema.get("required") or list(schema.get("properties") or {})
                if len(keys) == 1:
                    action = keys[0]
                    break
        out.append({"name": op["name"], "group": op["group"], "method": op["method"],
                    "path": op["path"], "action": action})
    return out


def blank(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", "/" + path.strip("/"))


def lookup(index: dict, verb: str, path: str, action: str | None) -> list[dict]:
    """Operations for a call: the same path, else one whose parameter a literal segment
    fills (Tempest's `PUT os-services/disable` is `PUT /os-services/{service_id}`)."""
    exact = index.get((verb, path, action))
    if exact:
        return exact
    want = path.split("/")
    out = []
    for (v, p, a), ops in index.items():
        have = p.split("/")
        if v == verb and a == action and len(have) == len(want) and all(
                h == w or h == "{}" for h, w in zip(have, want)):
            out += ops
    return out


def removed_operations(service: str) -> set[tuple[str, str]]:
    path = ROOT / "specs" / service / "removed.yaml"
    if not path.is_file():
        return set()
    entries = (yaml.safe_load(path.read_text()) or {}).get("removed") or []
    return {(e["method"], blank(e["path"]) + (f"#{e['key'].split('#', 1)[1]}"
                                             if "#" in e["key"] else ""))
            for e in entries}


def render(whl: Path) -> str:
    lines = ["# tempest.lib → squall",
             "",
             f"Generated by `python3 scripts/dump/tempest_map.py` from {whl.name} and `specs/`; "
             "do not edit by hand.",
             "Each tempest.lib client method is matched to the squall operations that send the "
             "same HTTP method to the same path (and, for `POST …/action`, the same action). "
             "A method without a match is a gap.",
             ""]
    summary = []
    sections = []
    for service, (folder, prefix) in SERVICES.items():
        ops = squall_operations(service)
        index = defaultdict(list)
        for op in ops:
            path = op["path"]
            if prefix and path.startswith(prefix):
                path = path[len(prefix):]
            index[(op["method"], blank(path), op["action"])].append(op)
        clients = tempest_methods(whl, folder)
        total = matched = dropped = 0
        removed = removed_operations(service)
        gaps = []
        rows = []
        for client, methods in clients.items():
            for method, calls in methods:
                total += 1
                hits = []
                for verb, path, action in calls:
                    for op in lookup(index, verb, blank(path), action):
                        label = f"`{op['group']}.{op['name']}`"
                        if label not in hits:
                            hits.append(label)
                said = ", ".join(sorted({f"{v} {blank(p)}" + (f" ({a})" if a else "")
                                         for v, p, a in calls}))
                gone = [c for c in calls
                        if (c[0], blank(c[1]) + (f"#{c[2]}" if c[2] else "")) in removed]
                if hits:
                    matched += 1
                    rows.append(f"| `{client}.{method}` | {', '.join(hits)} |")
                elif gone:
                    dropped += 1
                    gaps.append(f"| `{client}.{method}` | {said} | removed by the service "
                                "(410 at every version; listed in removed.yaml) |")
                else:
                    gaps.append(f"| `{client}.{method}` | {said} | not in squall |")
        summary.append(f"| {service} | {total} | {matched} | {dropped} | "
                       f"{total - matched - dropped} | {len(ops)} |")
        sections += [f"## {service}", "", "| tempest.lib method | squall operation |",
                     "|---|---|", *rows, "", f"### {service}: gaps", ""]
        sections += (["| tempest.lib method | calls | why |", "|---|---|---|", *gaps] if gaps
                     else ["None."])
        sections.append("")
    lines += ["| service | tempest.lib methods | mapped | removed by the service | gaps | "
              "squall operations |",
              "|---|---|---|---|---|---|", *summary, ""]
    return "\n".join(lines + sections)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the map is stale")
    args = parser.parse_args()
    text = render(wheel())
    if args.check:
        if not OUT.is_file() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python3 scripts/dump/tempest_map.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
