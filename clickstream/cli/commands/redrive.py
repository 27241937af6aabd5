"""clickstream redrive --hour H | --execution NAME | --all-failed [--rerun]: re-run failed hours, safely.

The rules are the Operator's (clickstream.ops.operations), the same for the
Reliability page's Redrive button and on AWS: a running hour is refused, a
succeeded hour needs --rerun, an hour that never ran is refused (run it).
"""

from __future__ import annotations

import argparse

from clickstream.cli.commands._common import (
    add_aws_target,
    add_data_dir,
    add_lake_target,
    exit_codes,
    fail,
    operator,
    sight,
)
from clickstream.cli.commands._report import outcome, rejects_block
from clickstream.core.lake import parse_hour
from clickstream.ops.operations import REFUSALS, Operator

HELP_EXTRA = """  Refused (2): an hour whose execution is RUNNING; an hour that SUCCEEDED
  (unless --rerun); an hour that never ran (use clickstream run); an hour that
  has not ended; --execution NAME when NAME is not its hour's latest execution.
  --all-failed: 1 if any redriven hour failed again, else 2 if any was refused."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--hour", help="the hour to redrive, e.g. 2025-10-18T13")
    which.add_argument("--execution", help="the execution to redrive (name or ARN): its hour's latest")
    which.add_argument("--all-failed", action="store_true", help="every hour whose latest run failed")
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="also run a SUCCEEDED hour again (as hour-...-rN); what is committed already is skipped",
    )
    parser.add_argument("--no-wait", action="store_true", help="start and return")
    add_data_dir(parser)
    add_aws_target(parser)
    add_lake_target(parser)
    exit_codes(parser, HELP_EXTRA)


def redrive_hour(op: Operator, hour_text: str, rerun: bool = False) -> str:
    """Redrive the hour under the Operator's rules (Refused / HourNotClosed otherwise). Returns the ARN."""
    return op.redrive_hour(parse_hour(hour_text), rerun=rerun)


def run(args: argparse.Namespace) -> int:
    if args.rerun and args.all_failed:
        fail("--rerun goes with --hour or --execution: --all-failed redrives failed hours only")
    op = operator(args)
    arns: list[str] = []
    refused = 0
    try:
        if args.hour:
            arns.append(redrive_hour(op, args.hour, args.rerun))
        elif args.execution:
            arns.append(op.redrive_named(args.execution, rerun=args.rerun))
        else:
            hours = op.failed_hours()
            if not hours:
                print("no failed hours")
                return 0
            for hour in hours:  # in order: later hours build on earlier ones
                try:
                    arns.append(redrive_hour(op, hour))
                except REFUSALS as exc:
                    refused += 1
                    print(f"refused {hour}: {exc}")
                    continue
                if not args.no_wait:
                    op.wait(arns[-1])
    except REFUSALS as exc:
        fail(str(exc))
    except (LookupError, ValueError) as exc:
        fail(str(exc))
    see = sight(args) if not args.no_wait else None
    worst = 0
    for arn in arns:
        name = arn.rsplit(":", 1)[-1]
        if args.no_wait or see is None:
            print(f"started {name}")
            continue
        op.wait(arn)
        report = op.report(arn)
        print(outcome(report))
        for line in rejects_block(see, report.name, report.counts()):
            print(f"  {line}")
        if report.status != "SUCCEEDED":
            print(f"  error: {report.error}; see clickstream execution {report.name}")
            worst = 1
    return worst or (2 if refused else 0)
