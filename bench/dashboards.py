"""Dashboards: every page's queries, p50 and p95, on months of traffic in the warehouse.

    python -m bench dashboards [--days 90] [--events-per-day 50000] [--repeat 20]
                               [--database-url URL] [--rebuild]

Builds a warehouse of ``--days`` days of generator traffic (the generator's
returning visitors, 2 % of sessions arriving late, 2 % duplicates), each
receive-hour partition transformed in process as TransformPartition does and
loaded with ``load.upsert`` one day at a time, so sessions and aggregates are
the ones the pipeline writes. The warehouse is cached: an embedded pgserver
whose data directory lives under bench/data/ (or a database on the server of
``--database-url``), named after the parameters and the migrations'
checksums, so a second run reuses it (``--rebuild`` builds it again). When
only new migrations were added since a cached warehouse was built, or applied
ones rewritten as sql/migrate/rewritten.txt lists (its old checksums read as
the new ones), a copy of it is migrated forward (the new migrations' backfills
fill their tables; a rewritten one's checksum is updated) instead of loading
all the traffic again.

Then, for two date ranges, the default one the app opens with (its last
DEFAULT_DAYS days) and every day of the warehouse, each page's queries run
as one render issues them (the functions of shiny/queries.py, in the order
the page's outputs call them, with the sidebar's default filters: no device,
country or channel; Funnel split by device and Acquisition by channel, the
radio buttons' defaults), one warm-up and ``--repeat`` timed renders each.
Shiny for Python runs a session's reactive calcs one after another, so a
render is its queries in sequence. Reliability's Step Functions listing and
lake backlog are not the warehouse's and are left out.

Prints one JSON object (see ``run``): p50 and p95 in milliseconds per query
and per page render, and ``p95_ms_max``, the worst page p95 of both ranges.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import orjson
import psycopg
from moto import mock_aws

from bench.sessionize import stage
from clickstream.core import db, lake, migrate
from clickstream.core.storage import Lake
from clickstream.pipeline import load
from clickstream.tools.generate import GeneratorConfig, generate_objects

DATA_DIR = Path(__file__).resolve().parent / "data"
APP_DIR = Path(__file__).resolve().parents[1] / "shiny"
BUCKET = "bench-dashboards"
START = datetime(2025, 6, 2, tzinfo=UTC)  # a Monday
SEED = 11
DATABASE = "dashboards"
MARKER = "dashboards.json"  # written into the cache once the warehouse is complete

Log = Callable[[str], None]


# ----------------------------------------------------------------- the warehouse


def _queries() -> Any:
    """shiny/queries.py, imported as the app imports it (its folder first on sys.path)."""
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    import queries

    return queries


def default_days() -> int:
    """The app's default date range in days (shiny/app.py DEFAULT_DAYS)."""
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    try:
        import app

        return int(app.DEFAULT_DAYS)
    except Exception:  # the app's imports need the dashboards' extras; its default is a week
        return 7


def _checksums() -> list[str]:
    return [f"{m.version:03d}:{m.checksum}" for m in migrate.discover()]


def _key(days: int, events_per_day: int, checksums: list[str]) -> str:
    digest = hashlib.sha256("\n".join(checksums).encode()).hexdigest()[:12]
    return f"{_traffic(days, events_per_day)}{digest}"


def _traffic(days: int, events_per_day: int) -> str:
    """The cache's name for the traffic; "lists": with the tracker's list impressions (a warehouse
    built from traffic without them is neither reused nor migrated forward)."""
    return f"dashboards-{days}d-{events_per_day}-s{SEED}-lists-"


def build(url: str, days: int, events_per_day: int, log: Log) -> None:
    """Generate, transform and upsert ``days`` days of traffic, a day (its receive hours) per run."""
    config = GeneratorConfig(
        seed=SEED,
        start=START,
        hours=24 * days,
        events_per_day=events_per_day,
        late_rate=0.02,
        duplicate_rate=0.02,
        list_impressions=True,  # the Products page's list CTR reads them
    )
    quiet = logging.getLogger("clickstream")
    for handler in quiet.handlers:  # a log line per upsert would drown the progress
        if isinstance(handler, logging.StreamHandler):
            handler.setLevel(logging.WARNING)
    started = time.perf_counter()
    loaded = 0
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        bucket = Lake(BUCKET, client)

        def flush(day: date, raw: dict[datetime, list[tuple[str, bytes]]]) -> None:
            nonlocal loaded
            execution = f"bench-{day.isoformat()}"
            worklist = stage(bucket, execution, sorted(raw), raw)  # a batch per receive hour
            with db.connect(url, application_name="bench-dashboards") as conn:
                result = load.upsert(conn, bucket, execution=execution, hour=max(raw), worklist_key=worklist)
            bucket.delete_prefix(f"staged/{execution}/")
            loaded += int(result["loaded"])
            done = (day - START.date()).days + 1
            elapsed = time.perf_counter() - started
            log(
                f"  day {done}/{days} ({day}): {result['loaded']:,} events, "
                f"{loaded:,} in all, {elapsed:.0f} s elapsed"
            )

        current: date | None = None
        raw: dict[datetime, list[tuple[str, bytes]]] = defaultdict(list)
        for key, body in generate_objects(config):  # partition by partition, in hour order
            hour = lake.partition_hour(key)
            if current is not None and hour.date() != current:
                flush(current, raw)
                raw = defaultdict(list)
            current = hour.date()
            raw[hour].append((key, body))
        if current is not None and raw:
            flush(current, raw)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")  # a steady state, as autovacuum keeps it


def _counts(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select (select count(*) from fact_events), (select count(*) from fact_sessions)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


class Warehouse:
    """The cached warehouse: an embedded pgserver under bench/data/, or a database on a given server."""

    def __init__(self, database_url: str | None, days: int, events_per_day: int, rebuild: bool, log: Log):
        self.days, self.events_per_day, self.rebuild, self.log = days, events_per_day, rebuild, log
        self.checksums = _checksums()
        self.key = _key(days, events_per_day, self.checksums)
        self.database_url = database_url
        self.server: Any = None
        self.build_s = 0.0
        self.built_by = "cache"

    # the embedded server's data directories, one per key
    def _dir(self, key: str) -> Path:
        return DATA_DIR / key

    def _start(self, directory: Path) -> str:
        import pgserver

        self.server = pgserver.get_server(directory / "pg", cleanup_mode="stop")
        admin = str(self.server.get_uri("postgres"))
        return admin

    def _stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None

    def _forward_base(self) -> Path | None:
        """A complete cached warehouse of the same traffic built with a prefix of the migrations.

        A prefix once its rewritten migrations (sql/migrate/rewritten.txt) read as they are now:
        migrate accepts them (and records their new checksums) as it accepts any database.
        """
        prefix = _traffic(self.days, self.events_per_day)
        rewritten = migrate.rewritten_checksums()
        best: tuple[int, Path] | None = None
        for marker in DATA_DIR.glob(f"{prefix}*/{MARKER}"):
            info = json.loads(marker.read_text())
            applied = [rewritten.get(checksum, checksum) for checksum in info.get("checksums", [])]
            forward = applied and applied == self.checksums[: len(applied)]
            if forward and marker.parent.name != self.key and (best is None or len(applied) > best[0]):
                best = (len(applied), marker.parent)
        return best[1] if best else None

    def open(self) -> str:
        """The warehouse's URL, built (or migrated forward) first if it is not cached."""
        if self.database_url:
            return self._open_server(self.database_url)
        directory = self._dir(self.key)
        marker = directory / MARKER
        if self.rebuild or not marker.exists():
            shutil.rmtree(directory, ignore_errors=True)
            base = None if self.rebuild else self._forward_base()
            started = time.perf_counter()
            if base is not None:
                self.log(f"copying {base.name} and applying the new migrations to it")
                # cp -a keeps the owner: pgserver runs PostgreSQL as its own user when we are root
                subprocess.run(["cp", "-a", "--", str(base), str(directory)], check=True)
                (directory / MARKER).unlink()
                for stale in ("postmaster.pid", "postmaster.opts", ".handle_pids.json"):
                    (directory / "pg" / stale).unlink(missing_ok=True)
                for socket in (directory / "pg").glob(".s.PGSQL.*"):
                    socket.unlink()
                admin = self._start(directory)
                url = psycopg.conninfo.make_conninfo(admin, dbname=DATABASE)
                migrate.migrate(url)
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("vacuum analyze")
                self.built_by = f"migrated forward from {base.name}"
            else:
                self.log(
                    f"building {directory.name}: {self.days} days x {self.events_per_day:,} events "
                    "(a few minutes; cached for the next run)"
                )
                directory.mkdir(parents=True, exist_ok=True)
                admin = self._start(directory)
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f"create database {DATABASE}")
                url = psycopg.conninfo.make_conninfo(admin, dbname=DATABASE)
                migrate.migrate(url)
                build(url, self.days, self.events_per_day, self.log)
                self.built_by = "loaded"
            self.build_s = time.perf_counter() - started
            marker.write_text(json.dumps({"checksums": self.checksums, "built_by": self.built_by}))
            return url
        self.log(f"reusing the cached warehouse {directory.name}")
        admin = self._start(directory)
        return psycopg.conninfo.make_conninfo(admin, dbname=DATABASE)

    def _open_server(self, admin_url: str) -> str:
        name = self.key.replace("-", "_")
        url = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            exists = admin.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
            complete = False
            if exists and not self.rebuild:
                with psycopg.connect(url) as conn:
                    row = conn.execute(
                        "select to_regclass('bench_dashboards_complete') is not null"
                    ).fetchone()
                    complete = bool(row and row[0])
            if complete:
                self.log(f"reusing the database {name}")
                return url
            admin.execute(f"drop database if exists {name} with (force)")
            admin.execute(f"create database {name}")
        started = time.perf_counter()
        self.log(f"building the database {name}: {self.days} days x {self.events_per_day:,} events")
        migrate.migrate(url)
        build(url, self.days, self.events_per_day, self.log)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("create table bench_dashboards_complete ()")
        self.build_s = time.perf_counter() - started
        self.built_by = "loaded"
        return url

    def close(self) -> None:
        self._stop()


# ----------------------------------------------------------------- the pages


def page_renders(q: Any) -> dict[str, list[tuple[str, Callable[[Any, Any], Any]]]]:
    """Each page's warehouse queries for one render, in the order its outputs issue them."""
    import analysis_queries as aq  # shiny/, on sys.path once _queries() has run

    return {
        "traffic": [
            ("session_totals", q.session_totals),
            ("visitor_totals", q.visitor_totals),
            ("active_users_daily", q.active_users_daily),
            ("sessions_daily", q.sessions_daily),
            ("sessions_by_weekday_hour", q.sessions_by_weekday_hour),
        ],
        "funnel": [
            ("session_totals", q.session_totals),
            ("funnel_by_segment", lambda d, f: q.funnel_by_segment(d, f, "device")),
        ],
        "products": [
            ("product_totals", q.product_totals),
            ("revenue_totals", q.revenue_totals),
            ("category_table", q.category_table),
            ("product_table", q.product_table),
            ("list_totals", q.list_totals),
        ],
        "acquisition": [
            ("session_totals", q.session_totals),
            ("revenue_totals", q.revenue_totals),
            ("visitor_totals", q.visitor_totals),
            ("acquisition_breakdown", lambda d, f: q.acquisition_breakdown(d, f, "channel")),
            ("referrer_table", q.referrer_table),
            ("campaign_table", q.campaign_table),
        ],
        # issue 17's analyses (shiny/analysis_queries.py; Retention reads the last loaded day, then
        # both kinds of cohort, the radio button's default and the other one for the headline)
        "retention": [
            ("data_bounds", lambda d, f: q.data_bounds(d)),
            ("retention_visit", lambda d, f: aq.retention_cohorts(d, f, "visit")),
            ("retention_purchase", lambda d, f: aq.retention_cohorts(d, f, "purchase")),
        ],
        "paths": [("session_paths", aq.session_paths)],
        "search": [
            ("search_totals", aq.search_totals),
            ("search_queries", aq.search_queries),
        ],
        "reliability": [
            ("runs_in_range", lambda d, f: q.runs_in_range(d, *_hours(f))),
            ("rejects_by_reason", lambda d, f: q.rejects_by_reason(d, *_hours(f))),
            ("watermark", lambda d, f: q.watermark(d)),
            ("processed_totals", lambda d, f: q.processed_totals(d, *_hours(f))),
        ],
    }


def _hours(f: Any) -> tuple[datetime, datetime]:
    """shiny/pages/reliability.py hour_range: 00:00 of the first day to 23:00 of the last."""
    first = datetime(f.start.year, f.start.month, f.start.day, tzinfo=UTC)
    last = datetime(f.end.year, f.end.month, f.end.day, 23, tzinfo=UTC)
    return first, last


def _percentile(values: list[float], p: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def _summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(_percentile(values, 50), 1), "p95_ms": round(_percentile(values, 95), 1)}


def measure(url: str, filters: Any, repeat: int) -> dict[str, Any]:
    q = _queries()
    database = q.Database(url)
    pages: dict[str, Any] = {}
    for page, render in page_renders(q).items():
        page_times: list[float] = []
        query_times: dict[str, list[float]] = defaultdict(list)
        for attempt in range(repeat + 1):  # the first is the warm-up
            render_started = time.perf_counter()
            for name, call in render:
                started = time.perf_counter()
                call(database, filters)
                if attempt:
                    query_times[name].append((time.perf_counter() - started) * 1000)
            if attempt:
                page_times.append((time.perf_counter() - render_started) * 1000)
        pages[page] = {
            **_summary(page_times),
            "queries": {name: _summary(times) for name, times in query_times.items()},
        }
    return {"start": filters.start.isoformat(), "end": filters.end.isoformat(), "pages": pages}


def run(
    database_url: str | None = None,
    days: int = 90,
    events_per_day: int = 50_000,
    repeat: int = 20,
    rebuild: bool = False,
    log: Log = print,
) -> dict[str, Any]:
    """Build (or reuse) the warehouse and time every page's render; JSON-able results.

    {"days", "events_per_day", "events", "sessions", "ranges": {"default": {"start", "end",
    "pages": {page: {"p50_ms", "p95_ms", "queries": {name: {"p50_ms", "p95_ms"}}}}},
    "all_90_days": {...}}, "p95_ms_max", "build_s", ...}
    """
    warehouse = Warehouse(database_url, days, events_per_day, rebuild, log)
    try:
        url = warehouse.open()
        events, sessions = _counts(url)
        q = _queries()
        first, last = q.data_bounds(q.Database(url))
        if first is None or last is None:
            raise RuntimeError("the warehouse holds no sessions")
        default = default_days()
        ranges = {
            "default": q.Filters(start=max(first, last - timedelta(days=default - 1)), end=last),
            "all_90_days": q.Filters(start=max(first, last - timedelta(days=days - 1)), end=last),
        }
        results: dict[str, Any] = {}
        for name, filters in ranges.items():
            log(f"timing every page over {name} ({filters.start} to {filters.end}), {repeat} renders each")
            results[name] = measure(url, filters, repeat)
            for page, figures in results[name]["pages"].items():
                log(f"  {page}: p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms")
    finally:
        warehouse.close()
    return {
        "bench": "dashboards",
        "days": days,
        "events_per_day": events_per_day,
        "events": events,
        "sessions": sessions,
        "repeat": repeat,
        "ranges": results,
        "p95_ms_max": max(p["p95_ms"] for r in results.values() for p in r["pages"].values()),
        "build_s": round(warehouse.build_s, 1),
        "built_by": warehouse.built_by,
        "warehouse": warehouse.key,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "server": "embedded pgserver (default settings)" if database_url is None else "--database-url",
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench dashboards", description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--events-per-day", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20, help="timed renders per page and range")
    parser.add_argument("--database-url", default=None, help="a server to use (default: embedded, cached)")
    parser.add_argument("--rebuild", action="store_true", help="build the warehouse again even if cached")
    args = parser.parse_args(argv)
    report = run(
        database_url=args.database_url,
        days=args.days,
        events_per_day=args.events_per_day,
        repeat=args.repeat,
        rebuild=args.rebuild,
        log=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print(orjson.dumps(report).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
