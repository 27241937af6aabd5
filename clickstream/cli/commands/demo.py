"""clickstream demo: start the stack, generate three days of traffic, backfill every hour, serve.

This is ``make demo``. Options pass through ``make demo DEMO_ARGS=...``.

The traffic ends with the last closed hour: what the generator would have
received after it (late arrivals, the end of the last visits) is not put into
the lake, as it has not arrived yet. The console shows the start, a progress
bar, failed hours and a summary; logs go to ``DIR/clickstream.log``.
"""

from __future__ import annotations

import argparse
import importlib.util
from datetime import UTC, datetime, timedelta

import psycopg

from clickstream.cli.commands._common import add_data_dir, fail
from clickstream.cli.commands.backfill import backfill
from clickstream.cli.commands.up import (
    add_allowed_origins,
    allowed_origins,
    print_endpoints,
    serve_until_stopped,
)
from clickstream.core.lake import REJECTS, floor_hour, hour_iso, partition_hour
from clickstream.core.storage import Lake, s3_client
from clickstream.local.alerts import Alert
from clickstream.local.runtime import LocalStack, start_stack


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir(parser)
    parser.add_argument("--days", type=int, default=3, help="days of traffic to generate (default 3)")
    parser.add_argument("--events-per-day", type=int, default=20_000, help="default 20,000")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument("--no-faults", action="store_true", help="clean traffic: no duplicates, bad lines...")
    parser.add_argument("--no-serve", action="store_true", help="stop when the backfill is done")
    parser.add_argument("--workers", type=int, help="worker processes (default: cores)")
    add_allowed_origins(parser)


def load_traffic(
    stack: LocalStack,
    start: datetime,
    days: int,
    events_per_day: int,
    seed: int,
    faults: bool,
    until: datetime | None = None,
) -> tuple[int, int]:
    """Generate traffic and put it into the stack's raw lake as ingest would.

    Objects of receive hours from ``until`` on have not arrived yet: they are left out.
    Returns (objects put, objects left out).
    """
    from clickstream.tools.generate import GeneratorConfig, generate_objects

    make = GeneratorConfig.with_faults if faults else GeneratorConfig
    config = make(
        seed=seed, start=start, hours=24 * days, events_per_day=events_per_day, list_impressions=True
    )
    stack.info.apply_environ()
    lake = Lake(stack.info.lake_bucket, s3_client(stack.info.region))
    put = later = 0
    for key, body in generate_objects(config):
        if until is not None and partition_hour(key) >= until:
            later += 1
            continue
        lake.put_bytes(key, body, "application/x-ndjson")
        put += 1
    return put, later


SUMMARY = [
    ("events loaded", "select count(*) from fact_events"),
    ("sessions", "select count(*) from fact_sessions"),
    ("duplicates removed", "select coalesce(sum(duplicates), 0) from etl_processed_objects"),
    ("lines rejected", "select coalesce(sum(rejected), 0) from etl_processed_objects"),
    ("objects quarantined", "select count(*) from etl_processed_objects where is_quarantined"),
    ("raw objects processed", "select count(*) from etl_processed_objects"),
]
REJECT_REASONS = "select reason, sum(count_lines) from etl_rejects group by reason order by 2 desc, 1"


def summary(database_url: str) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The headline counts, and rejected lines by reason."""
    counts: list[tuple[str, int]] = []
    reasons: list[tuple[str, int]] = []
    with psycopg.connect(database_url) as conn:
        for label, sql in SUMMARY:
            try:
                with conn.transaction():
                    row = conn.execute(sql).fetchone()
            except psycopg.errors.UndefinedTable:
                continue
            counts.append((label, int(row[0]) if row else 0))
        try:
            with conn.transaction():
                reasons = [(str(r), int(n)) for r, n in conn.execute(REJECT_REASONS).fetchall()]
        except psycopg.errors.UndefinedTable:
            pass
    return counts, reasons


def reasons_text(reasons: list[tuple[str, int]], width: int = 60) -> str:
    """The biggest reasons first, as many as fit in ``width`` characters, then how many more."""
    shown: list[str] = []
    for i, (reason, n) in enumerate(reasons):
        more = len(reasons) - i
        item = f"{reason} {n:,}"
        if shown and len(", ".join([*shown, item])) + len(f", +{more - 1} more") > width:
            return ", ".join(shown) + f", +{more} more"
        shown.append(item)
    return ", ".join(shown)


def print_summary(stack: LocalStack, executions: int, failed: list[str], alerts: list[Alert]) -> None:
    counts, reasons = summary(stack.info.database_url)
    for label, value in counts:
        detail = f"  ({reasons_text(reasons)})" if label == "lines rejected" and reasons else ""
        print(f"{label:<24} {value:>10,}{detail}")
    print(f"{'executions':<24} {executions:>10,}  ({len(failed)} failed)")
    failures = sum(a.failure for a in alerts)
    notices = len(alerts) - failures
    print(f"{'alerts':<24} {len(alerts):>10,}  ({failures} failed hours, {notices} reject notices)")
    lake_dir = stack.data_dir / "lake" / stack.info.lake_bucket / REJECTS
    where = f"s3://{stack.info.lake_bucket}/{REJECTS}, on disk {lake_dir}/"
    print(f"{'rejects, quarantined':<24} {where}")
    if importlib.util.find_spec("clickstream.cli.commands.rejects") is not None:
        print(f"{'':<24} clickstream rejects ls")


def run(args: argparse.Namespace) -> int:
    if args.days < 1:
        fail("--days must be at least 1")
    origins = allowed_origins(args)
    end = floor_hour(datetime.now(UTC))  # the current hour, still open: the traffic stops before it
    start = end - timedelta(days=args.days)
    days = f"{args.days} day{'s' if args.days != 1 else ''}"
    print(f"demo: {days} of shop traffic, {start:%Y-%m-%d %H:00} to {end:%Y-%m-%d %H:00} UTC")
    alerts: list[Alert] = []

    def on_alert(alert: Alert) -> None:  # a failed hour is worth a line; notices are counted
        alerts.append(alert)
        if alert.failure:
            print(f"{'alert':<14} {alert.subject}   (clickstream alerts)", flush=True)

    try:
        stack = start_stack(args.data_dir, workers=args.workers, on_alert=on_alert, allowed_origins=origins)
    except RuntimeError as exc:
        fail(str(exc))
    try:
        objects, later = load_traffic(
            stack, start, args.days, args.events_per_day, args.seed, not args.no_faults, until=end
        )
        print(
            f"lake           {objects} raw objects put into s3://{stack.info.lake_bucket}/raw/"
            + (f" ({later} received after {end - timedelta(hours=1):%H}:59 not yet)" if later else "")
        )
        op = stack.operator()
        last = end - timedelta(hours=1)
        failed = backfill(op, hour_iso(start), hour_iso(last), keep_going=True)
        runs = op.list_executions()
        stack.drain_alerts()
        print()
        print_summary(stack, len(runs), failed, alerts)
        print()
        print_endpoints(stack)
        if failed:
            print(f"failed hours: {', '.join(failed)}; see clickstream execution NAME")
    except BaseException:
        stack.stop()
        raise
    if args.no_serve:
        stack.stop()
        return 1 if failed else 0
    serve_until_stopped(stack)
    return 1 if failed else 0
