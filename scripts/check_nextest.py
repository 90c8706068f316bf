#!/usr/bin/env python3
"""Checks a `cargo nextest run --profile ci --run-ignored all` run.

1. The JUnit file: at least one test, no failure, no error, and no live test left out or
   skipped (every test `cargo nextest list --run-ignored only` names ran).
2. Partitions: `--partition count:1/2` and `count:2/2` split the suite with nothing lost and
   nothing run twice (what several machines running one nextest archive rely on).

Usage: scripts/check_nextest.py target/nextest/ci/junit.xml
"""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET


def listed(*args):
    """(binary id, test name) pairs nextest would run with these arguments."""
    out = subprocess.run(
        ["cargo", "nextest", "list", "--workspace", "--message-format", "json", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    tests = set()
    for binary_id, suite in json.loads(out)["rust-suites"].items():
        for name, case in suite["testcases"].items():
            if case["filter-match"]["status"] == "matches":
                tests.add((binary_id, name))
    return tests


def main(path):
    root = ET.parse(path).getroot()
    cases = root.iter("testcase")
    ran, failed, skipped = set(), [], []
    for case in cases:
        key = (case.get("classname"), case.get("name"))
        ran.add(key)
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(key)
        if case.find("skipped") is not None:
            skipped.append(key)
    problems = []
    if not ran:
        problems.append("the JUnit file lists no test")
    if failed:
        problems.append(f"{len(failed)} failed: {sorted(failed)}")
    if skipped:
        problems.append(f"{len(skipped)} skipped: {sorted(skipped)}")
    live = listed("--run-ignored", "only")
    missing = live - ran
    if not live:
        problems.append("nextest lists no live (ignored) test")
    if missing:
        problems.append(f"live tests that did not run: {sorted(missing)}")
    everything = listed("--run-ignored", "all")
    first = listed("--run-ignored", "all", "--partition", "count:1/2")
    second = listed("--run-ignored", "all", "--partition", "count:2/2")
    if first & second or first | second != everything or not first or not second:
        problems.append(
            f"partitions do not split the suite: {len(first)} + {len(second)} of {len(everything)}"
        )
    if problems:
        print("nextest check failed:\n  " + "\n  ".join(problems))
        return 1
    print(
        f"nextest JUnit: {len(ran)} tests ran, none failed, all {len(live)} live tests among "
        f"them; partitions 1/2 and 2/2 hold {len(first)} + {len(second)} = {len(everything)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "target/nextest/ci/junit.xml"))
