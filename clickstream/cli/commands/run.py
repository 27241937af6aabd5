"""clickstream run --hour H [--rerun]: one closed hour through the state machine; exit 0 only on SUCCEEDED.

An hour runs once: asked again, it says how its run ended and how many raw
objects wait in partitions up to it (objects that arrived after the run, or
that no run's listing reached), and ``--rerun`` takes them.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from clickstream.cli.commands._common import (
    Sight,
    add_aws_target,
    add_data_dir,
    add_lake_target,
    cause_text,
    exit_codes,
    fail,
    operator,
    sight,
)
from clickstream.cli.commands._report import outcome, rejects_block, waiting_block
from clickstream.core import lake as layout
from clickstream.core.errors import HourNotClosed
from clickstream.ops import inventory
from clickstream.ops.operations import FAILED, Operator

HELP_EXTRA = """  An hour that already ran is not run again: it prints how that run ended and
  exits 0 if it succeeded and nothing waits up to the hour, 1 if it failed
  (redrive it), 2 if raw objects wait in partitions up to the hour (--rerun
  takes them). An hour that has not ended yet is refused (2)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hour", required=True, help="the hour to close, e.g. 2025-10-18T13")
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="the hour already ran: run it again (as hour-...-rN), taking every raw object that waits "
        "in partitions up to it; what is committed already is skipped",
    )
    parser.add_argument("--name", help="execution name (default hour-YYYY-MM-DDTHH); a new name runs again")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait (default 3600)")
    add_data_dir(parser)
    add_aws_target(parser)
    add_lake_target(parser)
    exit_codes(parser, HELP_EXTRA)


def waiting_up_to(see: Sight, hour: datetime) -> inventory.Waiting | None:
    """Raw objects not committed in partitions up to the hour (None when the lake or warehouse is unseen)."""
    if see.missing or see.lake is None:
        return None
    with see.fetch() as fetch:
        row = inventory.read_watermark(fetch)
        return inventory.waiting(
            see.lake,
            fetch,
            watermark=row["watermark_hour"] if row else None,
            lookback_hours=see.lookback_hours,
            last=hour,
        )


def finish(op: Operator, see: Sight, arn: str, timeout: float) -> int:
    """Wait for the execution, print how it ended and where its rejects are; 0 SUCCEEDED, 1 otherwise."""
    description = op.wait(arn, timeout_s=timeout)
    report = op.report(arn)
    print(outcome(report))
    for line in rejects_block(see, report.name, report.counts()):
        print(line)
    if description["status"] != "SUCCEEDED":
        print(f"  error: {report.error}\n  cause: {cause_text(report.cause)}")
        print(f"  see: clickstream execution {report.name}")
        if report.hour:
            print(f"  once the cause is fixed: clickstream redrive --hour {report.hour[:13]}")
        return 1
    return 0


def already_ran(op: Operator, see: Sight, hour: datetime, latest: dict[str, Any]) -> int:
    label = layout.hour_label(hour)
    stopped = latest.get("stopDate")
    when = f" at {stopped:%Y-%m-%d %H:%M:%S}" if stopped else ""
    print(f"hour {label} already ran: {latest['name']} {latest['status']}{when}; not run again")
    report = op.report(latest["executionArn"])
    print(f"  {outcome(report)}")
    for line in rejects_block(see, report.name, report.counts()):
        print(f"  {line}")
    if latest["status"] in FAILED:
        print(f"  error: {report.error}")
        print(f"redrive it with: clickstream redrive --hour {label}")
        return 1
    waiting = waiting_up_to(see, hour)
    if waiting is None:
        print(f"could not check for raw objects that arrived since: this needs {see.missing}")
        return 0
    if waiting.partitions:
        for line in waiting_block(waiting, hour):
            print(line)
        return 2
    print(f"nothing waits in partitions up to {label}")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        hour = layout.require_closed(layout.parse_hour(args.hour))
    except ValueError as exc:
        fail(f"--hour: {exc}")
    except HourNotClosed as exc:
        fail(str(exc))
    op = operator(args)
    see = sight(args)
    label = layout.hour_label(hour)
    latest = op.latest_for_hour(hour)
    running = latest is not None and latest["status"] == "RUNNING"
    if args.name:
        if running and latest is not None and latest["name"] != args.name:
            name = latest["name"]
            fail(f"hour {label} is running ({name}): wait for it: clickstream execution {name}")
        arn = op.start(hour, args.name)
    elif latest is None:
        arn = op.start(hour)
    elif running and args.rerun:
        name = latest["name"]
        fail(
            f"hour {label} is running ({name}): a re-run now would run beside it; wait for it: "
            f"clickstream execution {name}"
        )
    elif running:
        print(f"hour {label} is running already ({latest['name']}): waiting for it")
        arn = latest["executionArn"]
    elif args.rerun:
        waiting = waiting_up_to(see, hour)
        since = None
        if waiting is not None and waiting.partitions:
            since = min(waiting.partitions[0].hour, hour - timedelta(hours=see.lookback_hours))
        arn = op.rerun(hour, since)
        if since is not None:
            count = waiting.objects if waiting else 0
            print(f"listing from {layout.hour_label(since)}: {count:,} object(s) wait")
    else:
        return already_ran(op, see, hour, latest)
    if not running:
        print(f"started {arn.rsplit(':', 1)[-1]}")
    return finish(op, see, arn, args.timeout)
