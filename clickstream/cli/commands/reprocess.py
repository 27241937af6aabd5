"""clickstream reprocess --from D1 --to D2 | --all: re-derive the warehouse from the raw lake.

After a rule change (docs/BOTS.md), the warehouse is rebuilt from the raw lake,
the source of truth, under the rules deployed now: through the state machine
(executions ``reprocess-<started>-pN`` with a ``reprocess`` option,
clickstream/pipeline/reprocess.py), each replacing what its receive
partitions contributed in its one publishing commit. A range bigger than one
execution's budget takes several executions, one after the other, each
publishing whole partitions. Running it again is always safe.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from clickstream.cli.commands._common import (
    add_aws_target,
    add_data_dir,
    cause_text,
    exit_codes,
    fail,
    operator,
    value_text,
)
from clickstream.core import lake as layout
from clickstream.core.errors import HourNotClosed
from clickstream.ops.operations import Operator

PREFIX = "reprocess-"
HELP_EXTRA = """  --from and --to take a date (2025-10-13: its 24 receive hours) or an hour
  (2025-10-13T05). Each part prints its partitions and counts; a failed part
  changed nothing it had not committed: run the same command again. Refused (2)
  while another reprocess runs, or when --to has not ended."""

COUNTS = ("objects", "lines_read", "loaded", "duplicates", "rejected", "filtered", "sessions_written")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--from", dest="first", help="first receive date or hour, e.g. 2025-10-13")
    which.add_argument("--all", action="store_true", help="every partition of the lake")
    parser.add_argument(
        "--to", dest="last", help="last receive date or hour, included (default: the last closed hour)"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for each part")
    add_data_dir(parser)
    add_aws_target(parser)
    exit_codes(parser, HELP_EXTRA)


def parse_bound(text: str, end: bool) -> datetime:
    """A date (its first hour, or with ``end`` its last) or an hour; ValueError otherwise."""
    raw = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        day = datetime.fromisoformat(raw).replace(tzinfo=UTC)
        return day + timedelta(hours=23) if end else day
    try:
        return layout.parse_hour(raw)
    except ValueError:
        raise ValueError(f"{text!r} is neither a date (2025-10-13) nor an hour (2025-10-13T05)") from None


def running_reprocess(op: Operator) -> str | None:
    rows = op.list_executions("RUNNING")
    return next((r["name"] for r in rows if r["name"].startswith(PREFIX)), None)


def reprocess(
    op: Operator, first: datetime | None, last: datetime, timeout_s: float = 3600, quiet: bool = False
) -> tuple[int, dict[str, int]]:
    """Start and wait for the parts in order; (exit status, total counts)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    totals = dict.fromkeys(COUNTS, 0)
    part = 1
    while True:
        name = f"{PREFIX}{stamp}-p{part}"
        span = f"{layout.hour_label(first) if first else 'the first partition'} .. {layout.hour_label(last)}"
        option = {"first": layout.hour_iso(first) if first else None, "last": layout.hour_iso(last)}
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), disable=quiet
        ) as progress:
            progress.add_task(f"part {part}: {name}, partitions {span}", total=None)
            description = op.wait(op.start(last, name, {"reprocess": option}), timeout_s=timeout_s)
        status = description["status"]
        if status != "SUCCEEDED":
            why = cause_text(description.get("cause")) or description.get("error")
            print(f"part {part}: {name} {status}: {why}")
            print(f"  see: clickstream execution {name}")
            print("  what it had not committed changed nothing; run the same command again to finish")
            return 1, totals
        output: dict[str, Any] = json.loads(description.get("output") or "{}")
        listed, upserted = output.get("list", {}), output.get("upsert", {})
        spec = listed.get("reprocess") or {}
        for key in COUNTS:
            totals[key] += int(upserted.get(key) or 0)
        counts = ", ".join(
            f"{key.replace('_', ' ')} {value_text(int(upserted.get(key) or 0))}" for key in COUNTS
        )
        done = (
            f"{layout.hour_label(first) if first else 'the first partition'} .. {spec.get('last', '?')[:13]}"
        )
        with_data = listed.get("partitions", 0)
        print(f"part {part}: {name} SUCCEEDED: partitions {done} ({with_data} with data): {counts}")
        following = spec.get("next")
        if not following:
            return 0, totals
        first = layout.parse_hour(following)
        part += 1


def run(args: argparse.Namespace) -> int:
    try:
        first = None if args.all else parse_bound(args.first, end=False)
        last = parse_bound(args.last, end=True) if args.last else layout.last_closed_hour()
        layout.require_closed(last)
    except ValueError as exc:
        fail(str(exc))
    except HourNotClosed as exc:
        fail(f"--to: {exc}; nothing was started")
    if first is not None and first > last:
        fail(f"--from {args.first} is after --to {args.last}; nothing was started")
    op = operator(args)
    busy = running_reprocess(op)
    if busy:
        fail(f"{busy} is running: one reprocess at a time. Wait for it: clickstream execution {busy}")
    status, totals = reprocess(op, first, last, args.timeout)
    if status == 0:
        summary = ", ".join(f"{key.replace('_', ' ')} {value_text(value)}" for key, value in totals.items())
        print(f"reprocessed: {summary}")
    return status
