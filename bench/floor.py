"""The floor of a durable load: DuckDB parses the raw files, PostgreSQL stores the rows with our indexes.

    python -m bench floor RAW_DIR [--database-url URL]

The second reference of ``make bench`` (docs/PERFORMANCE.md). DuckDB reads the
same raw files as the pipeline, applies the contract's 72-hour rule, dedupes
by event_id and flattens each event to fact_events' columns
(sql/bench/duckdb_floor.sql: no validation beyond parsing, no sessions, no
aggregates); the rows are written as CSV and COPYed into a table made ``like
fact_events`` with all its indexes (the primary key, the visitor/ts index and
the partial one), in the same PostgreSQL the pipeline loaded, which then
checkpoints. Its time is what storing the events durably costs on this
machine with nothing else to do: a rate no pipeline that keeps them in
PostgreSQL can beat, however it computes its sessions and aggregates.

Inside ``make bench`` it runs on the end-to-end stack's database after the
run (``run(database_url, raw_dir)``); on its own it starts an embedded
pgserver in a temp directory and migrates a scratch database.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import orjson
import psutil
import psycopg
from psycopg import sql

from bench.common import Postgres, generated_lines
from clickstream.core import sqlfiles

QUERY = sqlfiles.text("bench/duckdb_floor.sql")
TABLE = "bench_floor_events"
COPY_CHUNK = 1 << 20


def _columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in con.execute("describe floor_events").fetchall()]


def _pg_cpu(conn: psycopg.Connection[Any]) -> float:
    """CPU seconds so far of the connection's backend (the COPY runs in it)."""
    try:
        times = psutil.Process(conn.info.backend_pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def run(
    database_url: str,
    raw_dir: Path,
    lines: int | None = None,
    threads: int | None = None,
    cpu: Callable[[], dict[str, float]] | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """Parse with DuckDB, COPY into a copy of fact_events with its indexes; the times of both parts.

    ``cpu`` (the stack's CPU counter, bench/e2e.py) gives PostgreSQL's CPU seconds when the
    server is the stack's; otherwise only the COPY backend's are counted.
    """
    glob = str(raw_dir / "raw" / "**" / "*.gz")
    threads = threads or os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    csv = tmp / "events.csv"
    me = psutil.Process()
    try:
        cpu_before = me.cpu_times()
        began = time.perf_counter()
        with duckdb.connect(config={"threads": threads}) as con:
            con.execute("set TimeZone = 'UTC'")
            con.execute(QUERY, {"glob": glob})
            columns = _columns(con)
            rows_row = con.execute("select count(*) from floor_events").fetchone()
            con.execute(f"copy floor_events to '{csv}' (format csv, header false)")
        parsed_s = time.perf_counter() - began
        cpu_after = me.cpu_times()
        duckdb_cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
        rows = int(rows_row[0]) if rows_row else 0

        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier(TABLE)))
            conn.execute(
                sql.SQL("create table {} (like fact_events including all)").format(sql.Identifier(TABLE))
            )
            stack_before = cpu() if cpu else {}
            backend_before = _pg_cpu(conn)
            began = time.perf_counter()
            copy_sql = sql.SQL("copy {} ({}) from stdin (format csv)").format(
                sql.Identifier(TABLE), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy(copy_sql) as copy,
                csv.open("rb") as source,
            ):
                while chunk := source.read(COPY_CHUNK):
                    copy.write(chunk)
            conn.execute("checkpoint")  # durable: the table and its indexes on disk
            copy_s = time.perf_counter() - began
            stack_after = cpu() if cpu else {}
            pg_cpu = (
                stack_after.get("postgres", 0.0) - stack_before.get("postgres", 0.0)
                if cpu
                else _pg_cpu(conn) - backend_before
            )
            row = conn.execute(
                "select pg_table_size(%s::regclass), pg_indexes_size(%s::regclass)", (TABLE, TABLE)
            ).fetchone()
            table_bytes, index_bytes = (int(row[0]), int(row[1])) if row else (0, 0)
            conn.execute(sql.SQL("drop table {}").format(sql.Identifier(TABLE)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = lines or generated_lines(raw_dir) or 0
    seconds = parsed_s + copy_s
    result = {
        "engine": f"duckdb {duckdb.__version__} ({threads} threads) + PostgreSQL COPY",
        "lines": lines,
        "events": rows,
        "parse_seconds": round(parsed_s, 3),
        "copy_seconds": round(copy_s, 3),
        "seconds": round(seconds, 3),
        "events_per_s": round(lines / seconds) if seconds else None,
        "cpu_seconds": {"duckdb": round(duckdb_cpu, 1), "postgres": round(pg_cpu, 1)},
        "bytes_per_event": round((table_bytes + index_bytes) / rows, 1) if rows else None,
        "table_bytes": table_bytes,
        "index_bytes": index_bytes,
    }
    log(
        f"floor: {lines:,} lines parsed by DuckDB in {parsed_s:.2f} s, {rows:,} events COPYed with "
        f"fact_events' indexes in {copy_s:.2f} s: {result['events_per_s']:,} events/s"
    )
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench floor", description=__doc__.split("\n")[0])
    parser.add_argument("raw_dir", type=Path, help="a directory holding raw/... (e.g. bench/data/raw-...)")
    parser.add_argument("--database-url", default=None, help="a migrated warehouse (default: embedded)")
    args = parser.parse_args(argv)
    if args.database_url:
        result = run(args.database_url, args.raw_dir)
    else:
        from bench.load import scratch_database

        postgres = Postgres(None, "bench-floor-pg-")
        try:
            _, url = scratch_database(postgres.admin_url)
            result = run(url, args.raw_dir)
        finally:
            postgres.close()
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0
