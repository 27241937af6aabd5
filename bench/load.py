"""SessionizeAndUpsert throughput: staged batches in (moto) S3 -> PostgreSQL, the whole load transaction.

    python -m bench.load [--rows 1000000] [--batches 5] [--repeat 3] [--database-url URL]

Synthesises ``--rows`` staged rows (the text-COPY format transform writes,
cached gzipped under bench/data/), puts them in a moto bucket as ``--batches``
batches with their manifests and a worklist, and times ``load.upsert`` end to
end: reading the manifests, streaming and decompressing the bodies, COPY,
dedupe, the insert into fact_events, dim_product, the processed-object
manifest and the commit. Two scenarios, each on a fresh migrated database:

- ``fresh``: an empty warehouse, every row is new;
- ``duplicates``: the same events again in other objects: every row is
  COPYed and checked against the primary key, none inserted.

PostgreSQL is an embedded pgserver in a temp dir (its default settings:
shared_buffers 128MB), or the server of ``--database-url`` (a scratch
database is created there and dropped). Prints one JSON object with
``rows_per_s`` per scenario (best of ``--repeat``), the phase timings of the
best run and, where the server runs on this machine, its CPU seconds.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import logging
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import orjson
import psycopg
from moto import mock_aws

from bench.common import Postgres, machine
from clickstream.core import db, migrate
from clickstream.core.storage import Lake
from clickstream.pipeline import load
from clickstream.pipeline.staged import STAGED_COLUMNS

DATA_DIR = Path(__file__).resolve().parent / "data"
HOUR = datetime(2025, 10, 18, 13, tzinfo=UTC)
OBJECTS_PER_BATCH = 200  # Settings().max_objects_per_item
BUCKET = "bench-lake"
EVENT_TYPES = ("view",) * 6 + ("click", "click", "search", "add_to_cart", "checkout", "purchase")
CHANNELS = ("Direct", "Organic Search", "Paid Search", "Organic Social", "Email", "Referral")
DEVICES = ("mobile", "desktop", "tablet")
COUNTRIES = ("DE", "FR", "US", "GB", "NL", "PL")


def synthesise(rows: int, objects: int, seed: int) -> list[bytes]:
    """``rows`` staged rows as text-COPY lines of ``objects`` sources, OBJECTS_PER_BATCH to a batch.

    ``src`` is the object's position in its own batch, as in transform's manifests.
    """
    rnd = random.Random(seed)
    bits = rnd.getrandbits
    base = HOUR.timestamp()
    sessions = [f"{bits(128):032x}" for _ in range(max(1, rows // 8))]
    visitors = [f"anon-{i:08d}" for i in range(max(1, rows // 20))]
    per_object: list[list[str]] = [[] for _ in range(objects)]
    gc.disable()  # a million small strings
    try:
        for i in range(rows):
            src = i * objects // rows
            kind = EVENT_TYPES[bits(8) % len(EVENT_TYPES)]
            ts = datetime.fromtimestamp(base + bits(22) / 1165.0, UTC)
            stamp = f"{ts:%Y-%m-%d %H:%M:%S}.{ts.microsecond // 1000:03d}+00"
            product = f"p-{bits(11):04d}" if kind != "search" and kind != "click" and bits(1) else None
            price = f"{bits(14) / 100:.2f}" if product else "\\N"
            fields = (
                str(src % OBJECTS_PER_BATCH),
                f"{bits(128):032x}",
                sessions[bits(30) % len(sessions)],
                visitors[bits(30) % len(visitors)],
                f"{bits(256):064x}" if bits(2) == 0 else "\\N",
                kind,
                stamp,
                stamp,
                f"{ts:%Y-%m-%d}",
                str(ts.hour),
                f"https://shop.example/p/{product or 'home'}?utm_source=news",
                f"/p/{product or 'home'}",
                "https://www.google.com/" if bits(1) else "\\N",
                "www.google.com" if bits(1) else "\\N",
                "news",
                "\\N",
                "\\N",
                "\\N",
                "\\N",
                CHANNELS[bits(8) % len(CHANNELS)],
                DEVICES[bits(8) % len(DEVICES)],
                COUNTRIES[bits(8) % len(COUNTRIES)],
                "Berlin",
                product or "\\N",
                "shoes" if product else "\\N",
                "EUR" if product else "\\N",
                price,
                "1" if product else "\\N",
                price if kind == "purchase" else "\\N",
                "red shoes" if kind == "search" else "\\N",
                "{}",
                "f",
                "Chrome",  # browser
                "Windows",  # os
                f"Product {product}" if product else "\\N",  # product_name
            )
            per_object[src].append("\t".join(fields))
    finally:
        gc.enable()
    return [("\n".join(lines) + "\n").encode() if lines else b"" for lines in per_object]


def staged_batches(rows: int, batches: int, seed: int) -> list[tuple[bytes, list[int]]]:
    """(gzipped body, staged rows per object) per batch; cached under bench/data/."""
    # The staged format's width in the name: a cache of an older format is not reused.
    cache = DATA_DIR / f"load-{rows}-{batches}-{seed}-c{len(STAGED_COLUMNS)}"
    if (cache / "counts.json").exists():
        counts = orjson.loads((cache / "counts.json").read_bytes())
        return [((cache / f"{b:05d}.tsv.gz").read_bytes(), counts[b]) for b in range(batches)]
    started = time.perf_counter()
    per_object = synthesise(rows, batches * OBJECTS_PER_BATCH, seed)
    out = []
    for b in range(batches):
        objs = per_object[b * OBJECTS_PER_BATCH : (b + 1) * OBJECTS_PER_BATCH]
        body = b"".join(objs)
        out.append((gzip.compress(body, compresslevel=6), [lines.count(b"\n") for lines in objs]))
    print(f"synthesised {rows:,} staged rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    cache.mkdir(parents=True, exist_ok=True)
    for b, (body, _) in enumerate(out):
        (cache / f"{b:05d}.tsv.gz").write_bytes(body)
    (cache / "counts.json").write_bytes(orjson.dumps([counts for _, counts in out]))
    return out


def put_run(lake: Lake, execution: str, data: list[tuple[bytes, list[int]]], tag: str) -> str:
    """Batches, manifests and the worklist of one execution; object keys carry ``tag``."""
    keys = []
    for b, (body, counts) in enumerate(data):
        batch_key = f"staged/{execution}/batches/{b:05d}"
        lake.put_bytes(f"{batch_key}.tsv.gz", body)
        objects = [
            {
                "key": f"raw/year=2025/month=10/day=18/hour=13/events-{tag}-{b:03d}-{o:03d}.ndjson.gz",
                "etag": uuid.uuid4().hex,
                "size": 1000,
                "partition_hour": "2025-10-18T13:00:00Z",
                "lines_read": n,
                "staged": n,
                "duplicates": 0,
                "rejected": 0,
                "rejects": {},
                "quarantined": False,
            }
            for o, n in enumerate(counts)
        ]
        lake.put_json(
            f"{batch_key}.json",
            {
                "execution": execution,
                "batch_key": batch_key,
                "staged_key": f"{batch_key}.tsv.gz",
                "rows": sum(counts),
                "objects": objects,
            },
        )
        keys.append(batch_key)
    worklist = f"staged/{execution}/worklist.json"
    lake.put_json(
        worklist,
        {
            "execution": execution,
            "hour": "2025-10-18T13:00:00Z",
            "items": [
                {"work_key": "", "batch_key": k, "partition_hour": "2025-10-18T13:00:00Z", "objects": 1}
                for k in keys
            ],
        },
    )
    return worklist


class _Phases(logging.Handler):
    """Keeps the phase timings upsert logs with "upsert committed"."""

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, Any] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "upsert committed":
            self.last = {k: v for k, v in vars(record).items() if k.endswith("_s") and k != "rows_per_s"}


def server_cpu_s(pid: int) -> float | None:
    """CPU seconds used so far by a PostgreSQL backend on this machine (None if not visible)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_upsert(url: str, lake: Lake, execution: str, worklist: str, phases: _Phases) -> dict[str, Any]:
    with db.connect(url, application_name="bench-load") as conn:
        cpu_before = server_cpu_s(conn.info.backend_pid)
        started = time.perf_counter()
        result = load.upsert(conn, lake, execution=execution, hour=HOUR, worklist_key=worklist)
        seconds = time.perf_counter() - started
        cpu_after = server_cpu_s(conn.info.backend_pid)
    server_cpu = None if cpu_before is None or cpu_after is None else round(cpu_after - cpu_before, 2)
    return {"seconds": seconds, "server_cpu_s": server_cpu, "result": result, "phases": dict(phases.last)}


def scratch_database(admin_url: str) -> tuple[str, str]:
    name = f"clickstream_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"create database {name}")
        url = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    migrate.migrate(url)
    return name, url


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"drop database if exists {name} with (force)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=5, help="batches (Map items) the rows come in")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="report the best of N runs per scenario")
    parser.add_argument("--database-url", default=None, help="a server to use (default: embedded, temp dir)")
    args = parser.parse_args(argv)

    data = staged_batches(args.rows, args.batches, args.seed)
    rows = sum(sum(counts) for _, counts in data)
    postgres = Postgres(args.database_url, "bench-load-")
    admin_url = postgres.admin_url
    phases = _Phases()
    clickstream_logger = logging.getLogger("clickstream")
    for handler in clickstream_logger.handlers:  # logs to stderr: stdout is the JSON report
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)
    clickstream_logger.addHandler(phases)
    report: dict[str, Any] = {"bench": "load", "rows": rows, "batches": args.batches}
    try:
        with mock_aws():
            client = boto3.client("s3", region_name="us-east-1")
            client.create_bucket(Bucket=BUCKET)
            lake = Lake(BUCKET, client)
            for scenario in ("fresh", "duplicates"):
                best: dict[str, Any] | None = None
                for attempt in range(max(1, args.repeat)):
                    name, url = scratch_database(admin_url)
                    try:
                        if scenario == "duplicates":  # the same events, already loaded from other objects
                            first = put_run(lake, f"warm-{attempt}", data, f"warm{attempt}")
                            timed_upsert(url, lake, f"warm-{attempt}", first, phases)
                        execution = f"{scenario}-{attempt}"
                        worklist = put_run(lake, execution, data, execution)
                        gc.collect()
                        run = timed_upsert(url, lake, execution, worklist, phases)
                    finally:
                        drop_database(admin_url, name)
                    if best is None or run["seconds"] < best["seconds"]:
                        best = run
                assert best is not None
                result = best["result"]
                report[scenario] = {
                    "rows_per_s": round(rows / best["seconds"]),
                    "seconds": round(best["seconds"], 3),
                    "server_cpu_s": best["server_cpu_s"],
                    "rows_per_server_cpu_s": round(rows / best["server_cpu_s"])
                    if best["server_cpu_s"]
                    else None,
                    "loaded": result["loaded"],
                    "duplicates": result["duplicates"],
                    "phases": best["phases"],
                }
                print(
                    f"load {scenario}: {report[scenario]['rows_per_s']:,} rows/s "
                    f"({rows:,} rows in {best['seconds']:.2f} s; loaded {result['loaded']:,}, "
                    f"duplicates {result['duplicates']:,}; phases {best['phases']})",
                    file=sys.stderr,
                )
    finally:
        postgres.close()
    report.update({**machine(), "server": postgres.label})
    print(orjson.dumps(report).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
