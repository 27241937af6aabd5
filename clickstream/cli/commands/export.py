"""clickstream export: the warehouse's events and sessions of a date range, as CSV or Parquet.

    clickstream export --from 2025-10-13 --to 2025-10-19 --out export/            # events.csv, sessions.csv
    clickstream export --from 2025-10-13 --to 2025-10-19 --out export/ --format parquet
    clickstream export --from 2025-10-13 --to 2025-10-13 --tables sessions --out sessions.parquet

Dates are UTC and inclusive: events by the date of their timestamp, sessions by the
date they start (docs/DESIGN.md, "Session"). Streamed from PostgreSQL in chunks
(--chunk-rows), so memory stays flat over any range; a progress bar shows the rows.
The warehouse is, in order: --database-url; the stack running from --data-dir;
DATABASE_URL; the stack running from .clickstream.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from clickstream.cli.commands.db import database_url
from clickstream.core.errors import ClickstreamError
from clickstream.local.stack import DEFAULT_DATA_DIR, StackNotRunning
from clickstream.tools import export


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "exit status:\n  0  written\n  2  refused or failed (bad dates, unwritable path, no warehouse): "
        "nothing is left under the target's name"
    )
    parser.add_argument(
        "--from", dest="date_from", metavar="DATE", required=True, help="first date, YYYY-MM-DD (UTC)"
    )
    parser.add_argument(
        "--to", dest="date_to", metavar="DATE", required=True, help="last date, inclusive, YYYY-MM-DD (UTC)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="a directory (gets events.<format> and sessions.<format>) or, for one table, "
        "a file ending in .csv or .parquet",
    )
    parser.add_argument(
        "--format",
        choices=export.FORMATS,
        default=None,
        help="csv or parquet (default: the file's suffix, or csv)",
    )
    parser.add_argument(
        "--tables",
        default=",".join(export.TABLES),
        help="comma-separated: events, sessions (default both)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite files that exist")
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=export.DEFAULT_CHUNK_ROWS,
        help=f"rows fetched and written at a time (default {export.DEFAULT_CHUNK_ROWS:,})",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL URL (default: the stack of --data-dir, else DATABASE_URL, else the stack "
        "of .clickstream)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help=f"the local stack (default {DEFAULT_DATA_DIR})"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _fail(message: str) -> int:
    print(f"clickstream export: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    try:
        date_from = export.parse_date(args.date_from, "--from")
        date_to = export.parse_date(args.date_to, "--to")
        export.check_range(date_from, date_to)
        if args.chunk_rows < 1:
            raise export.ExportError(f"--chunk-rows {args.chunk_rows}: give at least 1")
        tables = [t.strip() for t in args.tables.split(",") if t.strip()]
        fmt, paths = export.targets(args.out, tables, args.format)
        url = database_url(args.database_url, args.data_dir)
        export.require_pyarrow()
        export.check_writable(list(paths.values()), overwrite=args.force)
    except (export.ExportError, StackNotRunning) as exc:
        return _fail(str(exc))

    console = Console(stderr=True)
    written: list[export.TableExport] = []
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("set timezone = 'UTC'")
            with Progress(
                TextColumn("{task.description:<10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                disable=args.quiet,
            ) as progress:
                for table, path in paths.items():
                    total = export.count_rows(conn, table, date_from, date_to)
                    task = progress.add_task(table, total=total)
                    written.append(
                        export.export_table(
                            conn,
                            table,
                            path,
                            fmt,
                            date_from,
                            date_to,
                            chunk_rows=args.chunk_rows,
                            on_chunk=functools.partial(progress.advance, task),
                        )
                    )
    except OSError as exc:
        return _fail(f"cannot write {exc.filename or args.out}: {exc.strerror or exc}")
    except psycopg.OperationalError as exc:
        return _fail(f"cannot reach the warehouse: {str(exc).strip().splitlines()[0]}")
    except (psycopg.Error, ClickstreamError) as exc:
        return _fail(str(exc).strip())
    for result in written:
        print(f"{result.table:<9} {result.rows:>12,} rows  {result.path}")
    return 0
