"""Counts the operations in the dumps (run after the dump scripts): Nova 265 = 211 live + 54
removed; Keystone 116 operations that declare a response schema; Ironic 60 routes whose handler
declares a schema (39 handlers declare a response schema; 56 operations answer a declared body or,
for 204, none).

    target/squall-services/venv/bin/python scripts/dump/test_counts.py
"""

import json
import sys
from pathlib import Path

EXPECTED = {
    "compute": {"operations": 265, "live": 211, "removed": 54, "live_actions": 56},
    "identity": {"operations": 258, "declared_response": 116},
    "baremetal": {"operations": 60, "declared_response": 56, "response_handlers": 39},
}


def counts(path: Path) -> dict:
    dump = json.loads(path.read_text())
    ops = [o for o in dump["operations"] if not o.get("root")]
    removed = [o for o in ops if o.get("removed")]
    return {
        "operations": len(ops),
        "live": len(ops) - len(removed),
        "removed": len(removed),
        "live_actions": sum(1 for o in ops if o.get("action") and not o.get("removed")),
        "declared_response": sum(1 for o in ops if o.get("response") and not o.get("removed")),
        "response_handlers": len({o.get("handler") for o in ops if any(
            v["schema"] != {"type": "null"} for v in o.get("response", []))}),
    }


def main() -> int:
    root = Path("target/squall-dump")
    failed = False
    for service, want in EXPECTED.items():
        got = counts(root / f"{service}.json")
        wrong = {k: (got[k], v) for k, v in want.items() if got[k] != v}
        print(f"{service}: {got}" + (f"  WRONG (got, want): {wrong}" if wrong else "  ok"))
        failed |= bool(wrong)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
