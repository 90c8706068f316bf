"""Tempest's way of checking a response body, timed: `json.loads` and a Draft 4 `jsonschema`
validator with the format checker (plus a `date-time` check, as Tempest registers its own).

    python tempest_path.py SCHEMA.json BODY.json RUNS

Prints the median seconds of RUNS validations of BODY against SCHEMA. The validator is built
once, outside the timing (Tempest builds one per call, so this favours Python). Called by
`cargo bench` (benches/squall.rs) with the services' virtualenv, where `jsonschema` is installed.
"""

import datetime
import json
import statistics
import sys
import time

import jsonschema


def main() -> None:
    schema_path, body_path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    with open(body_path, "rb") as f:
        raw = f.read()
    checker = jsonschema.Draft4Validator.FORMAT_CHECKER

    @checker.checks("date-time", raises=ValueError)
    def _date_time(instance):
        if isinstance(instance, str):
            datetime.datetime.fromisoformat(instance)
        return True

    validator = jsonschema.Draft4Validator(schema, format_checker=checker)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        validator.validate(json.loads(raw))
        times.append(time.perf_counter() - started)
    print(statistics.median(times))


if __name__ == "__main__":
    main()
