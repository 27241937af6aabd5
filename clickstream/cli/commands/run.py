"""clickstream run --hour H: one execution through the state machine; exit 0 only on SUCCEEDED."""

from __future__ import annotations

import argparse

from clickstream.cli.commands._common import (
    add_aws_target,
    add_data_dir,
    cause_text,
    count_text,
    fail,
    operator,
    seconds,
)
from clickstream.core.lake import execution_name, parse_hour


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hour", required=True, help="the hour to close, e.g. 2025-10-18T13")
    parser.add_argument("--name", help="execution name (default hour-YYYY-MM-DDTHH)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait (default 3600)")
    add_data_dir(parser)
    add_aws_target(parser)


def run(args: argparse.Namespace) -> int:
    try:
        hour = parse_hour(args.hour)
    except ValueError as exc:
        fail(f"--hour: {exc}")
    op = operator(args)
    name = args.name or execution_name(hour)
    arn = op.start(hour, name)
    print(f"started {name}")
    description = op.wait(arn, timeout_s=args.timeout)
    report = op.report(arn)
    counts = ", ".join(f"{k} {count_text(v)}" for k, v in report.counts().items())
    print(f"{report.status} {name} in {seconds(report.seconds)}" + (f": {counts}" if counts else ""))
    if description["status"] != "SUCCEEDED":
        print(f"  error: {report.error}\n  cause: {cause_text(report.cause)}")
        print(f"  see: clickstream execution {name}")
        return 1
    return 0
