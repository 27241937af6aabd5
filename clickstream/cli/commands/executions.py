"""clickstream executions [--status S [--every]] [--json]: the console's list, in a terminal.

``--status S`` lists the hours whose latest execution has status S (one row
per hour), so ``--status FAILED`` is exactly what ``redrive --all-failed``
redrives; ``--every`` lists every execution with that status instead,
superseded ones (a failure since redriven) included.
"""

from __future__ import annotations

import argparse
import json

from clickstream.cli.commands._common import add_aws_target, add_data_dir, operator, seconds, table
from clickstream.ops.operations import hour_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--status",
        choices=["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"],
        type=str.upper,
        help="hours whose latest execution has this status (FAILED: what redrive --all-failed takes)",
    )
    parser.add_argument(
        "--every",
        action="store_true",
        help="with --status: every execution with that status, also those a later execution superseded",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_data_dir(parser)
    add_aws_target(parser)


def run(args: argparse.Namespace) -> int:
    op = operator(args)
    if args.status and not args.every:
        rows = op.latest_executions(args.status)
    else:
        rows = op.list_executions(args.status)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": r["name"],
                        "status": r["status"],
                        "start": r["startDate"].isoformat(),
                        "stop": r["stopDate"].isoformat() if r.get("stopDate") else None,
                        "arn": r["executionArn"],
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return 0
    by_hour = bool(args.status) and not args.every
    if not rows:
        if not args.status:
            print("no executions yet")
        elif args.every:
            print(f"no executions with status {args.status}")
        else:
            print(f"no hours whose latest execution is {args.status}")
    else:
        print(
            table(
                [
                    [
                        r["name"],
                        r["status"],
                        r["startDate"].strftime("%Y-%m-%d %H:%M:%S"),
                        seconds(
                            (r["stopDate"] - r["startDate"]).total_seconds() if r.get("stopDate") else None
                        ),
                    ]
                    for r in rows
                ],
                ["execution", "status", "started", "took"],
            )
        )
    if not args.status:
        for c in op.catch_ups():
            left = (
                f"{c['left_objects']:,} raw objects ({c['left_bytes'] / 2**20:,.1f} MiB) left after it"
                if c["left_objects"] is not None
                else "listing"
            )
            print(
                f"\ncatching up hour {c['hour']}: {c['execution']} {c['status']}, execution "
                f"{c['executions']} of the hour; {left}. Each continuation (-cN) takes what one "
                "upsert does within the load function's timeout, and starts the next at its end."
            )
    if by_hour:
        if rows:
            print(
                f"\n{len(rows)} hour(s) whose latest execution is {args.status} "
                "(--every: every execution with that status)"
            )
        others = [r["name"] for r in op.list_executions(args.status) if hour_of(r["name"]) is None]
        if others:
            print(
                f"not hours (named outside hour-YYYY-MM-DDTHH), not listed, not redriven by --all-failed: "
                f"{', '.join(others)} (--every lists them)"
            )
    return 0
