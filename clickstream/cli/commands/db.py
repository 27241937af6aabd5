"""clickstream db: the warehouse's URL, and its migrations.

    clickstream db url [--data-dir DIR]
    clickstream db migrate [--database-url URL | --data-dir DIR]

The database is, in order: --database-url; the stack running from --data-dir;
DATABASE_URL; the stack running from .clickstream. Neither -> a clear error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import psycopg

from clickstream.core import migrate
from clickstream.core.errors import ClickstreamError
from clickstream.core.settings import Settings
from clickstream.local.stack import DEFAULT_DATA_DIR, StackNotRunning, read_stack


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    url = sub.add_parser("url", help="print the warehouse's connection URL")
    url.add_argument(
        "--data-dir", type=Path, default=None, help=f"the local stack (default {DEFAULT_DATA_DIR})"
    )
    url.set_defaults(database_url=None)
    mig = sub.add_parser("migrate", help="apply the pending sql/NNN_*.sql migrations")
    where = mig.add_mutually_exclusive_group()
    where.add_argument("--database-url", default=None, help="a PostgreSQL URL (default: DATABASE_URL)")
    where.add_argument(
        "--data-dir", type=Path, default=None, help=f"the local stack (default {DEFAULT_DATA_DIR})"
    )


def database_url(explicit_url: str | None, data_dir: Path | None) -> str:
    """The URL to use; StackNotRunning (with what to do) when there is none."""
    if explicit_url:
        return explicit_url
    if data_dir is not None:
        return read_stack(data_dir).database_url
    from_env = Settings().database_url
    if from_env:
        return from_env
    try:
        return read_stack(DEFAULT_DATA_DIR).database_url
    except StackNotRunning as exc:
        raise StackNotRunning(
            f"{exc}\nOr name a database with --database-url URL or the DATABASE_URL variable."
        ) from exc


def run(args: argparse.Namespace) -> int:
    try:
        url = database_url(args.database_url, args.data_dir)
        if args.db_command == "url":
            print(url)
            return 0
        applied = migrate.migrate(url, log=print)
    except (StackNotRunning, ClickstreamError, psycopg.Error) as exc:
        print(f"clickstream db {args.db_command}: {exc}", file=sys.stderr)
        return 2
    if applied:
        print(f"{len(applied)} migration(s) applied; the database is up to date")
    else:
        print("nothing to apply: the database is up to date")
    return 0
