"""clickstream demo: start the stack, generate three days of traffic, backfill every hour, serve.

This is ``make demo``. Options pass through ``make demo DEMO_ARGS=...``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import psycopg

from clickstream.cli.commands._common import add_data_dir, fail
from clickstream.cli.commands.backfill import backfill
from clickstream.cli.commands.up import print_endpoints, serve_until_stopped
from clickstream.core.lake import floor_hour, hour_iso
from clickstream.core.storage import Lake, s3_client
from clickstream.local.runtime import LocalStack, start_stack


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir(parser)
    parser.add_argument("--days", type=int, default=3, help="days of traffic to generate (default 3)")
    parser.add_argument("--events-per-day", type=int, default=20_000, help="default 20,000")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument("--no-faults", action="store_true", help="clean traffic: no duplicates, bad lines...")
    parser.add_argument("--no-serve", action="store_true", help="stop when the backfill is done")
    parser.add_argument("--workers", type=int, help="worker processes (default: cores)")


def load_traffic(
    stack: LocalStack, start: datetime, days: int, events_per_day: int, seed: int, faults: bool
) -> int:
    """Generate traffic and put it into the stack's raw lake as ingest would; returns objects put."""
    from clickstream.tools.generate import GeneratorConfig, generate_objects

    make = GeneratorConfig.with_faults if faults else GeneratorConfig
    config = make(seed=seed, start=start, hours=24 * days, events_per_day=events_per_day)
    stack.info.apply_environ()
    lake = Lake(stack.info.lake_bucket, s3_client(stack.info.region))
    count = 0
    for key, body in generate_objects(config):
        lake.put_bytes(key, body, "application/x-ndjson")
        count += 1
    return count


def summary(database_url: str) -> list[tuple[str, int]]:
    queries = [
        ("events loaded", "select count(*) from fact_events"),
        ("sessions", "select count(*) from fact_sessions"),
        ("duplicates removed", "select coalesce(sum(duplicates), 0) from etl_processed_objects"),
        ("lines rejected", "select coalesce(sum(rejected), 0) from etl_processed_objects"),
        ("raw objects processed", "select count(*) from etl_processed_objects"),
        ("successful runs", "select count(*) from etl_runs where status = 'SUCCEEDED'"),
    ]
    out = []
    with psycopg.connect(database_url) as conn:
        for label, sql in queries:
            try:
                with conn.transaction():
                    row = conn.execute(sql).fetchone()
            except psycopg.errors.UndefinedTable:
                continue
            out.append((label, int(row[0]) if row else 0))
    return out


def run(args: argparse.Namespace) -> int:
    if args.days < 1:
        fail("--days must be at least 1")
    end = floor_hour(datetime.now(UTC))
    start = end - timedelta(days=args.days)
    print(f"demo: {args.days} days of shop traffic, {start:%Y-%m-%d %H:00} to {end:%Y-%m-%d %H:00} UTC")
    try:
        stack = start_stack(args.data_dir, workers=args.workers)
    except RuntimeError as exc:
        fail(str(exc))
    try:
        objects = load_traffic(stack, start, args.days, args.events_per_day, args.seed, not args.no_faults)
        print(f"lake           {objects} raw objects put into s3://{stack.info.lake_bucket}/raw/")
        op = stack.operator()
        last = end - timedelta(hours=1)
        failed = backfill(op, hour_iso(start), hour_iso(last), keep_going=True)
        runs = op.list_executions()
        print()
        for label, value in summary(stack.info.database_url):
            print(f"{label:<24} {value:>10,}")
        print(f"{'executions':<24} {len(runs):>10,}  ({len(failed)} failed)")
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
