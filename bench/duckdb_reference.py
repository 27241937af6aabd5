"""The reference engine: DuckDB reads the same raw files, dedupes and sessionizes them in one SQL query.

    python -m bench duckdb_reference RAW_DIR [--repeat 3]

DuckDB does no validation beyond parsing and no PostgreSQL load: it is the
speed a single-node engine reaches with nothing else to do, the ceiling the
pipeline works towards. The query keeps the contract's one rule that changes
which events exist (a line received more than 72 h after its ts is
rejected), so that its counts can be checked against the warehouse's: the
same unique events and the same sessions (30 minutes of inactivity, ordered
by ts then event_id, no split at midnight).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import duckdb
import orjson
import psutil

from bench.common import generated_lines
from clickstream.core import sqlfiles

# One query: dedupe and sessionize (sql/bench/duckdb_sessions.sql, DuckDB's dialect).
QUERY = sqlfiles.text("bench/duckdb_sessions.sql")


def run(raw_dir: Path, repeat: int = 3, threads: int | None = None, log: Any = print) -> dict[str, Any]:
    """Best of ``repeat`` runs of the one query over ``raw_dir/raw/**/*.gz``; counts of the last."""
    glob = str(raw_dir / "raw" / "**" / "*.gz")
    threads = threads or os.cpu_count() or 1
    times, cpu = [], []
    counts: tuple[Any, ...] = (0, 0)
    me = psutil.Process()
    for _ in range(repeat):
        with duckdb.connect(config={"threads": threads}) as con:
            cpu_before = me.cpu_times()
            began = time.perf_counter()
            con.execute(QUERY, {"glob": glob})
            times.append(time.perf_counter() - began)
            cpu_after = me.cpu_times()
            cpu.append(cpu_after.user - cpu_before.user + cpu_after.system - cpu_before.system)
            row = con.execute("select count(*), sum(events) from sessions").fetchone()
            counts = row if row else (0, 0)
    seconds = min(times)
    lines = _count_lines(raw_dir)
    result = {
        "engine": f"duckdb {duckdb.__version__}",
        "threads": threads,
        "lines": lines,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(min(cpu), 2),
        "events_per_s": round(lines / seconds) if seconds else None,
        "sessions": int(counts[0]),
        "events": int(counts[1] or 0),
    }
    log(
        f"duckdb: {lines:,} lines in {seconds:.2f} s ({result['events_per_s']:,} events/s), "
        f"{result['events']:,} events in {result['sessions']:,} sessions"
    )
    return result


def _count_lines(raw_dir: Path) -> int:
    written = generated_lines(raw_dir)
    if written is not None:
        return written
    with duckdb.connect() as con:
        glob = str(raw_dir / "raw" / "**" / "*.gz")
        row = con.execute(
            "select count(*) from read_csv($glob, columns = {'line': 'VARCHAR'}, delim = '\\x01',"
            " quote = '', escape = '', header = false, compression = 'gzip')",
            {"glob": glob},
        ).fetchone()
    return int(row[0]) if row else 0


def main(argv: list[str]) -> int:
    prog = "python -m bench duckdb_reference"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("raw_dir", type=Path, help="a directory holding raw/... (e.g. bench/data/raw-...)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(orjson.dumps(run(args.raw_dir, args.repeat), option=orjson.OPT_INDENT_2).decode())
    return 0
