"""clickstream execution NAME [--json]: per-state timings, retries, errors and counts."""

from __future__ import annotations

import argparse
import json

from clickstream.cli.commands._common import (
    add_aws_target,
    add_data_dir,
    cause_text,
    count_text,
    fail,
    operator,
    seconds,
    table,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="execution name (hour-YYYY-MM-DDTHH[-rN]) or ARN")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_data_dir(parser)
    add_aws_target(parser)


def run(args: argparse.Namespace) -> int:
    try:
        report = operator(args).report(args.name)
    except LookupError as exc:
        fail(str(exc))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
        return 0
    print(f"{report.name}  {report.status}  hour {report.hour}  took {seconds(report.seconds)}")
    if report.error:
        print(f"error  {report.error}\ncause  {cause_text(report.cause)}")
    print()
    print(
        table(
            [
                [s.name, seconds(s.seconds), s.attempts or "", ", ".join(s.failures) or ""]
                for s in report.states
            ],
            ["state", "took", "attempts", "failed attempts"],
        )
    )
    counts = report.counts()
    if counts:
        print()
        print(table([[k, count_text(v)] for k, v in counts.items()], ["count", "value"]))
    return 0 if report.status in {"SUCCEEDED", "RUNNING"} else 1
