"""Schema migrations: the numbered files in sql/, applied in order, each once.

``sql/NNN_name.sql`` files run in version order, each in its own transaction
together with its row in ``etl_schema_migrations`` (version, name, sha256
checksum, applied_at). A second run applies nothing. A file whose checksum no
longer matches what was applied is refused: a migration that has run is never
edited, a new numbered file is added instead. A session advisory lock makes
concurrent migrators (two ``clickstream up``, a deploy and an operator) take
turns; the second one then finds nothing to do.

Then, on every run and inside the same lock, the repeatable definitions in
``sql/functions/`` (``NN_name.sql``, each ``create or replace`` of a function
or view) are applied again in name order, each in its own transaction: they
are not recorded, so a change to one takes effect at the next migrate without
a new numbered file. A definition whose signature or return type changes, or
that goes away, is dropped by a numbered migration. Numbered migrations run
first, so they cannot rely on a definition that is new in the same release.

Files must not contain transaction control (begin/commit) or statements that
cannot run in a transaction block (create index concurrently, vacuum).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from clickstream.core import db, sqlfiles
from clickstream.core.errors import ClickstreamError

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
# Repeatable definitions (functions, views) under SQL_DIR, applied again on every migrate.
FUNCTIONS_DIR = "functions"
MIGRATIONS_TABLE = "etl_schema_migrations"
_TABLE = sql.Identifier(MIGRATIONS_TABLE)
# pg_advisory_lock key of the migrator ("clickstream migrate", any fixed bigint would do).
LOCK_KEY = 0x636C_6B6D_6967
_FILE_NAME = re.compile(r"^(?P<version>\d{3})_(?P<name>[a-z0-9_]+)\.sql$")


class MigrationError(ClickstreamError):
    """The sql/ directory and the database disagree (edited, missing or misnamed files)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    text: str
    checksum: str

    @property
    def label(self) -> str:
        return f"{self.version:03d}_{self.name}"


def discover(sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Every NNN_name.sql file in sql_dir, in version order."""
    if not sql_dir.is_dir():
        raise MigrationError(f"no migrations directory at {sql_dir}")
    found: dict[int, Migration] = {}
    for path in sorted(sql_dir.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNN_lowercase_name.sql")
        version = int(match["version"])
        if version in found:
            raise MigrationError(
                f"two migrations with version {version:03d}: {found[version].path.name}, {path.name}"
            )
        data = path.read_bytes()
        found[version] = Migration(
            version=version,
            name=match["name"],
            path=path,
            text=data.decode("utf-8"),
            checksum=hashlib.sha256(data).hexdigest(),
        )
    return [found[v] for v in sorted(found)]


def repeatable(sql_dir: Path = SQL_DIR) -> list[Path]:
    """The files of sql_dir/functions/, in name order ([] when there is none)."""
    return sorted((sql_dir / FUNCTIONS_DIR).glob("*.sql"))


def applied_versions(conn: db.Connection) -> dict[int, tuple[str, str]]:
    """version -> (name, checksum) of what this database has applied ({} before the first run)."""
    exists = conn.execute("select to_regclass(%s) is not null", (MIGRATIONS_TABLE,)).fetchone()
    if not exists or not exists[0]:
        return {}
    query = sql.SQL("select version, name, checksum from {} order by version").format(_TABLE)
    rows = conn.execute(query).fetchall()
    return {int(v): (str(n), str(c)) for v, n, c in rows}


def check(migrations: list[Migration], applied: dict[int, tuple[str, str]]) -> list[Migration]:
    """The pending migrations; MigrationError if an applied one changed or disappeared."""
    by_version = {m.version: m for m in migrations}
    for version, (name, checksum) in sorted(applied.items()):
        current = by_version.get(version)
        if current is None:
            raise MigrationError(
                f"migration {version:03d}_{name} is applied to this database but missing from "
                f"{SQL_DIR.name}/: this code is older than the database"
            )
        if current.checksum != checksum:
            raise MigrationError(
                f"{current.path.name} changed after it was applied (checksum {checksum[:12]} "
                f"in the database, {current.checksum[:12]} on disk). Applied migrations are never "
                f"edited: restore the file and add a new numbered migration instead."
            )
    return [m for m in migrations if m.version not in applied]


def apply_migrations(
    conn: db.Connection,
    sql_dir: Path = SQL_DIR,
    log: Callable[[str], None] | None = None,
) -> list[Migration]:
    """Apply the pending migrations, then sql/functions/, on an idle connection.

    Returns the numbered migrations applied (in order); the repeatable definitions are applied
    every time and not returned.
    """
    say = log or (lambda _message: None)
    migrations = discover(sql_dir)
    if conn.info.transaction_status != conn.info.transaction_status.IDLE:
        raise MigrationError("apply_migrations needs a connection that is not inside a transaction")
    autocommit = conn.autocommit
    conn.autocommit = True  # the lock is per session; each file gets its own transaction below
    try:
        acquired = conn.execute("select pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        if not acquired or not acquired[0]:
            say("another migrator holds the lock; waiting for it")
            conn.execute("select pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            conn.execute(sqlfiles.query("migrate/schema_migrations.sql", table=_TABLE))
            pending = check(migrations, applied_versions(conn))
            for migration in pending:
                with conn.transaction():
                    # No parameters: psycopg sends the file as one simple query (many statements).
                    conn.execute(migration.text.encode("utf-8"))
                    conn.execute(
                        sql.SQL("insert into {} (version, name, checksum) values (%s, %s, %s)").format(
                            _TABLE
                        ),
                        (migration.version, migration.name, migration.checksum),
                    )
                say(f"applied {migration.path.name}")
            definitions = repeatable(sql_dir)
            for path in definitions:
                with conn.transaction():
                    conn.execute(path.read_bytes())
            if definitions:
                say(f"defined the functions of {sql_dir.name}/{FUNCTIONS_DIR}/ ({len(definitions)} files)")
            return pending
        finally:
            if not conn.closed:
                conn.execute("select pg_advisory_unlock(%s)", (LOCK_KEY,))
    finally:
        if not conn.closed:
            conn.autocommit = autocommit


def migrate(
    database_url: str,
    sql_dir: Path = SQL_DIR,
    log: Callable[[str], None] | None = None,
) -> list[Migration]:
    """Connect, apply the pending migrations and sql/functions/, return the migrations applied.

    [] when the numbered migrations were up to date (sql/functions/ is applied all the same).
    """
    with db.connect(database_url, application_name="clickstream-migrate") as conn:
        return apply_migrations(conn, sql_dir, log)
