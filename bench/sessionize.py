"""Sessionize + upsert of one hourly run, with 1 day and with 30 days of history in the warehouse.

    python -m bench sessionize [--events-per-day 20000] [--history-days 30] [--repeat 3]
                               [--database-url URL]

Generates ``--history-days`` days and one hour of shop traffic (the
generator's returning visitors, 2 % of sessions arriving late, 2 %
duplicates), transforms every receive-hour partition in process exactly as
the TransformPartition state does, and loads the history with ``load.upsert``
one day at a time into two warehouses: one with only the last day of it, one
with all of it. Then the same next hour (its partition holds late events of
the days before) is upserted into a copy of each (``create database ...
template``), timed end to end: manifests, COPY, dedupe, sessionize, insert,
sessions and aggregates, products, manifest, commit. The promise is that the
cost follows the new events and not the history, so the two times should
stay within 1.3x of each other.

Prints one JSON object: seconds (best of ``--repeat``) and phases per
scenario, what the run did to sessions, and the ratio.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import orjson
import psycopg
from moto import mock_aws

from bench.common import Postgres, machine
from bench.load import _Phases, drop_database, scratch_database
from clickstream.core import db, lake
from clickstream.core.settings import Settings
from clickstream.core.storage import Lake
from clickstream.pipeline import load
from clickstream.pipeline.transform import BatchTransformer, SourceObject
from clickstream.tools.generate import GeneratorConfig, generate_objects

BUCKET = "bench-sessionize"
START = datetime(2025, 9, 1, 20, tzinfo=UTC)  # so the measured hour is the peak, 20:00 UTC on a Wednesday


def partitions(events_per_day: int, days: int, seed: int) -> dict[datetime, list[tuple[str, bytes]]]:
    """Raw objects by receive hour: ``days`` days and one hour of traffic, late and duplicate lines."""
    config = GeneratorConfig(
        seed=seed,
        start=START,
        hours=24 * days + 1,
        events_per_day=events_per_day,
        late_rate=0.02,
        duplicate_rate=0.02,
    )
    out: dict[datetime, list[tuple[str, bytes]]] = defaultdict(list)
    for key, body in generate_objects(config):
        out[lake.partition_hour(key)].append((key, body))
    return out


def stage(
    bucket: Lake, execution: str, hours: list[datetime], raw: dict[datetime, list[tuple[str, bytes]]]
) -> str:
    """Transform each partition into one staged batch (as TransformPartition does); the worklist key."""
    hmac_key = Settings().user_id_hmac_key.get_secret_value().encode("utf-8")
    items = []
    for index, hour in enumerate(hours):
        transformer = BatchTransformer(hmac_key)
        results = [
            transformer.add_object(src, SourceObject(key, uuid.uuid4().hex, len(body)), body)
            for src, (key, body) in enumerate(raw.get(hour, []))
        ]
        batch_key = f"staged/{execution}/batches/{index:05d}"
        bucket.put_bytes(f"{batch_key}.tsv.gz", bytes(transformer.finish()))
        bucket.put_json(
            f"{batch_key}.json",
            {
                "execution": execution,
                "batch_key": batch_key,
                "staged_key": f"{batch_key}.tsv.gz",
                "rows": transformer.rows,
                "objects": [r.manifest_entry() for r in results],
            },
        )
        items.append(
            {"work_key": "", "batch_key": batch_key, "partition_hour": lake.hour_iso(hour), "objects": 1}
        )
    worklist = f"staged/{execution}/worklist.json"
    bucket.put_json(worklist, {"execution": execution, "hour": lake.hour_iso(hours[-1]), "items": items})
    return worklist


def upsert(url: str, bucket: Lake, execution: str, hour: datetime, worklist: str) -> dict[str, Any]:
    with db.connect(url, application_name="bench-sessionize") as conn:
        return load.upsert(conn, bucket, execution=execution, hour=hour, worklist_key=worklist)


def clone(admin_url: str, template: str) -> tuple[str, str]:
    name = f"{template}_run_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"create database {name} template {template}")
    return name, psycopg.conninfo.make_conninfo(admin_url, dbname=name)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench sessionize", description=__doc__.split("\n")[0])
    parser.add_argument("--events-per-day", type=int, default=20_000)
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3, help="report the best of N runs per scenario")
    parser.add_argument("--database-url", default=None, help="a server to use (default: embedded, temp dir)")
    args = parser.parse_args(argv)
    days = args.history_days

    started = time.perf_counter()
    raw = partitions(args.events_per_day, days, args.seed)
    new_hour = START + timedelta(days=days)
    print(f"generated {days} days and an hour in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    postgres = Postgres(args.database_url, "bench-sessionize-")
    admin_url = postgres.admin_url
    phases = _Phases()
    clickstream_logger = logging.getLogger("clickstream")
    for handler in clickstream_logger.handlers:  # a log line per upsert would drown the report
        if isinstance(handler, logging.StreamHandler):
            handler.setLevel(logging.WARNING)
    clickstream_logger.addHandler(phases)
    report: dict[str, Any] = {
        "bench": "sessionize",
        "events_per_day": args.events_per_day,
        "new_hour": lake.hour_iso(new_hour),
    }
    databases: list[str] = []
    try:
        with mock_aws():
            client = boto3.client("s3", region_name="us-east-1")
            client.create_bucket(Bucket=BUCKET)
            bucket = Lake(BUCKET, client)
            new_worklist = stage(bucket, "new-hour", [new_hour], raw)
            for scenario, first_day in (("history_1_day", days - 1), ("history_30_days", 0)):
                name, url = scratch_database(admin_url)
                databases.append(name)
                loading = time.perf_counter()
                for day in range(first_day, days):
                    hours = [START + timedelta(days=day, hours=h) for h in range(24)]
                    execution = f"{scenario}-day-{day:03d}"
                    upsert(url, bucket, execution, hours[-1], stage(bucket, execution, hours, raw))
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("vacuum analyze")  # a steady state, as autovacuum keeps it
                    history = conn.execute(
                        "select (select count(*) from fact_events), (select count(*) from fact_sessions)"
                    ).fetchone()
                assert history is not None
                print(
                    f"{scenario}: {history[0]:,} events, {history[1]:,} sessions loaded in "
                    f"{time.perf_counter() - loading:.1f} s",
                    file=sys.stderr,
                )
                best: dict[str, Any] | None = None
                for _ in range(max(1, args.repeat)):
                    run_name, run_url = clone(admin_url, name)
                    try:
                        timer = time.perf_counter()
                        result = upsert(run_url, bucket, f"new-hour-{run_name}", new_hour, new_worklist)
                        seconds = time.perf_counter() - timer
                    finally:
                        drop_database(admin_url, run_name)
                    if best is None or seconds < best["seconds"]:
                        best = {"seconds": round(seconds, 3), "phases": dict(phases.last), "result": result}
                assert best is not None
                result = best.pop("result")
                report[scenario] = {
                    "history_events": history[0],
                    "history_sessions": history[1],
                    **best,
                    "loaded": result["loaded"],
                    "sessions_replaced": result["sessions_replaced"],
                    "sessions_written": result["sessions_written"],
                    "events_resessioned": result["events_resessioned"],
                    "dates": result["dates"],
                }
                print(
                    f"{scenario}: the new hour in {best['seconds']:.3f} s {best['phases']}", file=sys.stderr
                )
    finally:
        for name in databases:
            drop_database(admin_url, name)
        postgres.close()
    report["ratio_30_to_1"] = round(
        report["history_30_days"]["seconds"] / report["history_1_day"]["seconds"], 2
    )
    report.update({**machine(), "server": postgres.label})
    print(orjson.dumps(report).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
