"""clickstream backfill --from H1 --to H2: closed hours in order through the state machine.

Every hour of the range must have ended (else nothing starts, exit 2). An
hour that ran already is not run again: its execution's outcome counts.
"""

from __future__ import annotations

import argparse

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from clickstream.cli.commands._common import add_aws_target, add_data_dir, exit_codes, fail, operator
from clickstream.core.errors import HourNotClosed
from clickstream.core.lake import execution_name, hours_between, parse_hour, require_closed
from clickstream.ops.operations import Operator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="first", required=True, help="first hour, e.g. 2025-10-13T00")
    parser.add_argument("--to", dest="last", required=True, help="last hour (included)")
    parser.add_argument("--keep-going", action="store_true", help="go on after a failed hour")
    add_data_dir(parser)
    add_aws_target(parser)
    exit_codes(parser, "  1: at least one hour failed (clickstream redrive --all-failed)")


def backfill(op: Operator, first: str, last: str, keep_going: bool = False, quiet: bool = False) -> list[str]:
    """Run every hour in order; returns the names of failed executions."""
    hours = hours_between(parse_hour(first), parse_hour(last))
    failed: list[str] = []
    with Progress(
        TextColumn("[bold]backfill"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        disable=quiet,
    ) as progress:
        task = progress.add_task("", total=len(hours))
        for hour in hours:
            name = execution_name(hour)
            progress.update(task, description=name)
            status = op.run(hour, name)["status"]
            if status != "SUCCEEDED":
                failed.append(name)
                progress.console.print(f"[red]{status}[/red] {name}: see clickstream execution {name}")
                if not keep_going:
                    break
            progress.advance(task)
    return failed


def run(args: argparse.Namespace) -> int:
    try:
        first, last = parse_hour(args.first), parse_hour(args.last)
        require_closed(last)
    except ValueError as exc:
        fail(str(exc))
    except HourNotClosed as exc:
        fail(f"--to: {exc}; nothing was started")
    if first > last:
        fail(f"--from {args.first} is after --to {args.last}")
    failed = backfill(operator(args), args.first, args.last, args.keep_going)
    if failed:
        print(f"{len(failed)} hour(s) failed: {', '.join(failed)}")
        print("redrive them with: clickstream redrive --all-failed")
        return 1
    return 0
