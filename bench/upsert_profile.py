"""Profile one big catch-up SessionizeAndUpsert by statement (what ``make bench`` runs in one execution).

    PYTHONPATH=. .venv/bin/python -m bench.upsert_profile [--events 1000000] [--explain-ms 1000] [--top 25]

Transforms the cached raw files ``bench/data/raw-<events>-*`` (written by
``make bench``) as TransformPartition does, one staged batch per partition
hour; the staged batches are cached under ``bench/data/staged-<raw dir>/``
so later runs skip the transform. They are put in a moto bucket and
``load.upsert`` runs into a fresh migrated database of an embedded pgserver.
Prints the phase timings upsert logs, then the slowest statements (seconds,
the CPU seconds of the PostgreSQL backend that ran them, calls, the statement's
first lines: on a shared machine the CPU seconds are the steadier figure) and, with ``--explain-ms``, the
plans (EXPLAIN ANALYZE, BUFFERS, run first in a savepoint rolled back)
of the statements slower than that.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3
import orjson
import psycopg
from moto import mock_aws
from psycopg import sql

from bench.common import Postgres
from bench.load import _Phases, scratch_database, server_cpu_s
from bench.sessionize import stage
from clickstream.core import db, lake
from clickstream.core.storage import Lake
from clickstream.pipeline import load

DATA_DIR = Path(__file__).resolve().parent / "data"
BUCKET = "bench-upsert-profile"
_EXPLAINABLE = {"create", "insert", "update", "delete", "with", "select"}
EXECUTION = "profile"


def _raw_dir(events: int) -> Path:
    found = sorted(DATA_DIR.glob(f"raw-{events}-*"))
    if not found:
        raise SystemExit(f"no bench/data/raw-{events}-*: run make bench first")
    return found[0]


def staged_objects(events: int) -> tuple[dict[str, bytes], str, Any]:
    """Every object the transform stage writes (key -> body), the worklist key and the last hour."""
    raw_dir = _raw_dir(events)
    cache = DATA_DIR / f"staged-{raw_dir.name}"
    index = cache / "index.json"
    if not index.exists():
        raw: dict[Any, list[tuple[str, bytes]]] = defaultdict(list)
        for path in sorted((raw_dir / "raw").rglob("*.gz")):
            key = path.relative_to(raw_dir).as_posix()
            raw[lake.partition_hour(key)].append((key, path.read_bytes()))
        hours = sorted(raw)
        started = time.perf_counter()
        with mock_aws():
            client = boto3.client("s3", region_name="us-east-1")
            client.create_bucket(Bucket=BUCKET)
            worklist = stage(Lake(BUCKET, client), EXECUTION, hours, raw)
            keys = [
                o["Key"]
                for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
                for o in page.get("Contents", [])
            ]
            tmp = cache.with_suffix(".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            for number, key in enumerate(keys):
                body = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
                (tmp / str(number)).parent.mkdir(parents=True, exist_ok=True)
                (tmp / str(number)).write_bytes(body)
            meta = {"keys": keys, "worklist": worklist, "hour": lake.hour_iso(hours[-1])}
            (tmp / "index.json").write_bytes(orjson.dumps(meta))
            tmp.rename(cache)
        print(f"staged in {time.perf_counter() - started:.1f} s -> {cache}", file=sys.stderr)
    meta = orjson.loads(index.read_bytes())
    bodies = {key: (cache / str(number)).read_bytes() for number, key in enumerate(meta["keys"])}
    return bodies, meta["worklist"], lake.parse_hour(meta["hour"])


class _StatementTimes:
    """Wraps psycopg's Cursor.execute to add up the time per statement."""

    def __init__(self, explain_s: float | None = None) -> None:
        self.explain_s = explain_s
        self.plans: list[str] = []
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._original = psycopg.Cursor.execute

    def __enter__(self) -> _StatementTimes:
        original = self._original
        times = self

        def execute(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            text = query if isinstance(query, str) else query.as_string(cursor.connection)
            lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
            name = " ".join(lines[:3])[:110]
            code = [line for line in lines if not line.startswith("--")]  # the files open with comments
            if times.explain_s is not None and code and code[0].split()[0] in _EXPLAINABLE:
                times.explain(original, cursor, name, query, *args, **kwargs)
            pid = cursor.connection.info.backend_pid
            cpu_before = server_cpu_s(pid) or 0.0
            started = time.perf_counter()
            try:
                return original(cursor, query, *args, **kwargs)
            finally:
                times.seconds[name] += time.perf_counter() - started
                times.cpu[name] += (server_cpu_s(pid) or 0.0) - cpu_before
                times.calls[name] += 1

        psycopg.Cursor.execute = execute  # type: ignore[method-assign, assignment]
        return self

    def explain(self, original: Any, cursor: Any, name: str, query: Any, *args: Any, **kwargs: Any) -> None:
        """The statement's plan with EXPLAIN ANALYZE in a savepoint rolled back (it runs twice)."""
        statement = sql.SQL(query) if isinstance(query, str) else query
        explain = sql.SQL("explain (analyze, buffers) ") + statement
        original(cursor, "savepoint profile_explain")
        started = time.perf_counter()
        try:
            original(cursor, explain, *args, **kwargs)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        except psycopg.Error:
            plan = ""
        seconds = time.perf_counter() - started
        original(cursor, "rollback to savepoint profile_explain")
        if plan and self.explain_s is not None and seconds >= self.explain_s:
            self.plans.append(f"----- {seconds:.2f} s  {name}\n{plan}")

    def __exit__(self, *exc: object) -> None:
        psycopg.Cursor.execute = self._original  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.upsert_profile", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--explain-ms", type=int, default=0, help="plans of statements slower than this")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    bodies, worklist, hour = staged_objects(args.events)
    postgres = Postgres(None, "upsert-profile-")  # an embedded server, as the local stack uses
    phases = _Phases()
    log = logging.getLogger("clickstream")
    log.addHandler(phases)
    log.setLevel(logging.INFO)
    for handler in log.handlers:
        if isinstance(handler, logging.StreamHandler) and handler is not phases:
            handler.setLevel(logging.WARNING)
    try:
        with mock_aws():
            client = boto3.client("s3", region_name="us-east-1")
            client.create_bucket(Bucket=BUCKET)
            for key, body in bodies.items():
                client.put_object(Bucket=BUCKET, Key=key, Body=body)
            _, url = scratch_database(postgres.admin_url)
            with db.connect(url, application_name="bench-upsert-profile") as conn:
                backend_cpu = server_cpu_s(conn.info.backend_pid) or 0.0
                started = time.perf_counter()
                with _StatementTimes(args.explain_ms / 1000 if args.explain_ms else None) as times:
                    result = load.upsert(
                        conn, Lake(BUCKET, client), execution=EXECUTION, hour=hour, worklist_key=worklist
                    )
                total = time.perf_counter() - started
                backend_cpu = (server_cpu_s(conn.info.backend_pid) or 0.0) - backend_cpu
    finally:
        postgres.close()
    print(
        f"upsert {total:.1f} s, PostgreSQL backend {backend_cpu:.1f} CPU-s, load average {os.getloadavg()}",
        {k: v for k, v in result.items() if k != "dates"},
    )
    print(phases.last)
    ranked = sorted(times.seconds, key=lambda name: -times.seconds[name])
    for name in ranked[: args.top]:
        print(f"{times.seconds[name]:7.2f} s {times.cpu[name]:6.2f} cpu {times.calls[name]:5d}x  {name}")
    for plan in times.plans:
        print(plan)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
