"""sql/ as it was before the backfills (sql/backfills/): the migrations 005, 011, 013 and 014 with
their copies of sql/functions/ and their backfill in the file, as databases applied them.

tests/fixtures/migrations_before_backfills.tar.gz holds those four files as commit f82d987 had them
(``git archive --format=tar.gz f82d987 sql/005_dashboard_rollups.sql sql/011_product_lists.sql
sql/013_analyses.sql sql/014_browser_os_product_names.sql``); compressed, so that the copies of
sql/functions/ they hold are not read as duplicated code. sql/migrate/rewritten.txt lists their
checksums as the old ones.
"""

from __future__ import annotations

import re
import shutil
import tarfile
from pathlib import Path

from clickstream.core import migrate

OLD_FILES = Path(__file__).resolve().parents[1] / "fixtures" / "migrations_before_backfills.tar.gz"
REWRITTEN = (5, 11, 13, 14)


def old_sql_dir(target: Path) -> Path:
    """A copy of sql/ at ``target`` with the old 005, 011, 013 and 014, no backfills/ and no rewritten.txt."""
    shutil.copytree(migrate.SQL_DIR, target)
    shutil.rmtree(target / migrate.BACKFILLS_DIR)
    (target / migrate.REWRITTEN_FILE).unlink()
    with tarfile.open(OLD_FILES) as archive:
        for member in archive.getmembers():
            if member.isfile():
                data = archive.extractfile(member)
                assert data is not None
                (target / Path(member.name).name).write_bytes(data.read())
    return target


def new_sql_dir(target: Path) -> Path:
    """A copy of sql/ as it is, that a test may edit."""
    shutil.copytree(migrate.SQL_DIR, target)
    return target


def created_tables(migration: migrate.Migration) -> list[str]:
    """The tables a migration creates (``create table name``)."""
    return re.findall(r"^create table (\w+)", migration.text, flags=re.MULTILINE)
