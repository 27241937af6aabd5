"""clickstream redrive --hour H | --execution NAME | --all-failed: re-run failed hours, safely."""

from __future__ import annotations

import argparse

from clickstream.cli.commands._common import add_aws_target, add_data_dir, fail, operator
from clickstream.core.lake import parse_hour
from clickstream.ops.operations import Operator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--hour", help="the hour to redrive, e.g. 2025-10-18T13")
    which.add_argument("--execution", help="the execution to redrive (name or ARN)")
    which.add_argument("--all-failed", action="store_true", help="every hour whose latest run failed")
    parser.add_argument("--no-wait", action="store_true", help="start and return")
    add_data_dir(parser)
    add_aws_target(parser)


def redrive_hour(op: Operator, hour_text: str) -> str:
    """Redrive the hour's latest execution, or run the hour if it never ran. Returns the ARN."""
    hour = parse_hour(hour_text)
    latest = op.latest_for_hour(hour)
    if latest is None:
        return op.start(hour)
    return op.redrive(latest["executionArn"])


def run(args: argparse.Namespace) -> int:
    op = operator(args)
    arns: list[str] = []
    try:
        if args.hour:
            arns.append(redrive_hour(op, args.hour))
        elif args.execution:
            arns.append(op.redrive(args.execution))
        else:
            hours = op.failed_hours()
            if not hours:
                print("no failed hours")
                return 0
            for hour in hours:  # in order: later hours build on earlier ones
                arns.append(redrive_hour(op, hour))
                if not args.no_wait:
                    op.wait(arns[-1])
    except (LookupError, ValueError) as exc:
        fail(str(exc))
    worst = 0
    for arn in arns:
        name = arn.rsplit(":", 1)[-1]
        if args.no_wait:
            print(f"started {name}")
            continue
        status = op.wait(arn)["status"]
        print(f"{status} {name}")
        worst = worst or (0 if status == "SUCCEEDED" else 1)
    return worst
