"""clickstream executions [--status S] [--json]: the console's list, in a terminal."""

from __future__ import annotations

import argparse
import json

from clickstream.cli.commands._common import add_aws_target, add_data_dir, operator, seconds, table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--status", choices=["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"], type=str.upper
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_data_dir(parser)
    add_aws_target(parser)


def run(args: argparse.Namespace) -> int:
    rows = operator(args).list_executions(args.status)
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
    if not rows:
        print("no executions yet" + (f" with status {args.status}" if args.status else ""))
        return 0
    print(
        table(
            [
                [
                    r["name"],
                    r["status"],
                    r["startDate"].strftime("%Y-%m-%d %H:%M:%S"),
                    seconds((r["stopDate"] - r["startDate"]).total_seconds() if r.get("stopDate") else None),
                ]
                for r in rows
            ],
            ["execution", "status", "started", "took"],
        )
    )
    return 0
