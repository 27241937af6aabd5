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
first, so they hold DDL only and never call a function of ``sql/functions/``.

Last, still inside the lock, the backfills: ``sql/backfills/NNN_name.sql``
(the file name of the migration it belongs to) fills that migration's new
tables from the stored data, usually by calling a function of
``sql/functions/`` (``select rebuild_product_lists();``). It runs once, in its
own transaction together with its row in ``etl_schema_backfills``, on a
database where its migration is applied (by this run or an earlier one) and
its row is missing: a migrator stopped between a migration and its backfill
runs the backfill next time.

``sql/migrate/rewritten.txt`` lists the applied migrations that were rewritten
in place (lines ``NNN old_sha256 new_sha256 reason``; the old 005, 011, 013 and
014 held copies of functions and ran their backfill themselves). A database
that recorded the old checksum of a listed line while the file on disk has its
new one is accepted: the migrator records the new checksum and the
migration's backfill as done, without running it. Any other changed checksum
is refused as above. infra/host/warehouse.sh does all of this the same way
with psql.

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
# Each migration's backfill under SQL_DIR, run once after FUNCTIONS_DIR.
BACKFILLS_DIR = "backfills"
# The applied migrations rewritten in place (version, old and new checksum, reason), under SQL_DIR.
REWRITTEN_FILE = "migrate/rewritten.txt"
MIGRATIONS_TABLE = "etl_schema_migrations"
BACKFILLS_TABLE = "etl_schema_backfills"
_TABLE = sql.Identifier(MIGRATIONS_TABLE)
_BACKFILLS = sql.Identifier(BACKFILLS_TABLE)
# pg_advisory_lock key of the migrator ("clickstream migrate", any fixed bigint would do).
LOCK_KEY = 0x636C_6B6D_6967
_FILE_NAME = re.compile(r"^(?P<version>\d{3})_(?P<name>[a-z0-9_]+)\.sql$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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


@dataclass(frozen=True)
class Rewrite:
    """A line of rewritten.txt: migration ``version`` applied as ``old``, now ``new`` on disk."""

    version: int
    old: str
    new: str
    reason: str


def _read(path: Path) -> Migration:
    match = _FILE_NAME.match(path.name)
    if not match:
        raise MigrationError(f"{path.name}: migration files are named NNN_lowercase_name.sql")
    data = path.read_bytes()
    return Migration(
        version=int(match["version"]),
        name=match["name"],
        path=path,
        text=data.decode("utf-8"),
        checksum=hashlib.sha256(data).hexdigest(),
    )


def discover(sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Every NNN_name.sql file in sql_dir, in version order."""
    if not sql_dir.is_dir():
        raise MigrationError(f"no migrations directory at {sql_dir}")
    found: dict[int, Migration] = {}
    for path in sorted(sql_dir.glob("*.sql")):
        migration = _read(path)
        if migration.version in found:
            raise MigrationError(
                f"two migrations with version {migration.version:03d}: "
                f"{found[migration.version].path.name}, {path.name}"
            )
        found[migration.version] = migration
    return [found[v] for v in sorted(found)]


def repeatable(sql_dir: Path = SQL_DIR) -> list[Path]:
    """The files of sql_dir/functions/, in name order ([] when there is none)."""
    return sorted((sql_dir / FUNCTIONS_DIR).glob("*.sql"))


def backfills(sql_dir: Path = SQL_DIR, migrations: list[Migration] | None = None) -> list[Migration]:
    """The files of sql_dir/backfills/, in version order; each is named as the migration it belongs to.

    ``migrations``: sql_dir's, when the caller has discovered them already.
    """
    names = {m.path.name for m in (discover(sql_dir) if migrations is None else migrations)}
    found = [_read(path) for path in sorted((sql_dir / BACKFILLS_DIR).glob("*.sql"))]
    for backfill in found:
        if backfill.path.name not in names:
            raise MigrationError(
                f"{BACKFILLS_DIR}/{backfill.path.name}: a backfill is named as the migration it "
                f"belongs to, and there is no {sql_dir.name}/{backfill.path.name}"
            )
    return found


def rewrites(sql_dir: Path = SQL_DIR) -> list[Rewrite]:
    """The lines of sql_dir/migrate/rewritten.txt ([] when there is none); # starts a comment."""
    path = sql_dir / REWRITTEN_FILE
    if not path.is_file():
        return []
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split(maxsplit=3)
        if (
            len(fields) < 4
            or not re.fullmatch(r"\d{3}", fields[0])
            or not all(_SHA256.match(f) for f in fields[1:3])
        ):
            raise MigrationError(
                f"{REWRITTEN_FILE} line {number}: expected NNN old_sha256 new_sha256 reason, got {line!r}"
            )
        found.append(Rewrite(int(fields[0]), fields[1], fields[2], fields[3]))
    return found


def applied_versions(conn: db.Connection) -> dict[int, tuple[str, str]]:
    """version -> (name, checksum) of what this database has applied ({} before the first run)."""
    if not _exists(conn, MIGRATIONS_TABLE):
        return {}
    query = sql.SQL("select version, name, checksum from {} order by version").format(_TABLE)
    rows = conn.execute(query).fetchall()
    return {int(v): (str(n), str(c)) for v, n, c in rows}


def _exists(conn: db.Connection, table: str) -> bool:
    found = conn.execute("select to_regclass(%s) is not null", (table,)).fetchone()
    return bool(found and found[0])


def backfilled_versions(conn: db.Connection) -> set[int]:
    """The versions whose backfill this database ran or recorded as done (empty before the first run)."""
    if not _exists(conn, BACKFILLS_TABLE):
        return set()
    rows = conn.execute(sql.SQL("select version from {}").format(_BACKFILLS)).fetchall()
    return {int(v) for (v,) in rows}


def check(
    migrations: list[Migration],
    applied: dict[int, tuple[str, str]],
    rewritten: list[Rewrite] | None = None,
) -> list[Migration]:
    """The pending migrations; MigrationError if an applied one changed or disappeared.

    A changed checksum is accepted when ``rewritten`` lists it (the recorded one as old, the one
    on disk as new): see accepted_rewrites.
    """
    by_version = {m.version: m for m in migrations}
    allowed = {(r.version, r.old, r.new) for r in rewritten or []}
    for version, (name, checksum) in sorted(applied.items()):
        current = by_version.get(version)
        if current is None:
            raise MigrationError(
                f"migration {version:03d}_{name} is applied to this database but missing from "
                f"{SQL_DIR.name}/: this code is older than the database"
            )
        if current.checksum != checksum and (version, checksum, current.checksum) not in allowed:
            raise MigrationError(
                f"{current.path.name} changed after it was applied (checksum {checksum[:12]} "
                f"in the database, {current.checksum[:12]} on disk). Applied migrations are never "
                f"edited: restore the file and add a new numbered migration instead."
            )
    return [m for m in migrations if m.version not in applied]


def accepted_rewrites(
    migrations: list[Migration], applied: dict[int, tuple[str, str]], rewritten: list[Rewrite]
) -> list[Migration]:
    """The applied migrations whose recorded checksum rewritten.txt replaces by the one on disk."""
    by_version = {m.version: m for m in migrations}
    pairs = {(r.version, r.old, r.new) for r in rewritten}
    return [
        by_version[version]
        for version, (_name, checksum) in sorted(applied.items())
        if version in by_version
        and (version, checksum, by_version[version].checksum) in pairs
        and checksum != by_version[version].checksum
    ]


def rewritten_checksums(sql_dir: Path = SQL_DIR) -> dict[str, str]:
    """``NNN:old`` -> ``NNN:new`` for each line of rewritten.txt whose new checksum is on disk.

    For caches keyed on the applied checksums (bench/dashboards.py): a database with the old one
    is, once migrated, one with the new one.
    """
    on_disk = {(m.version, m.checksum) for m in discover(sql_dir)}
    return {
        f"{r.version:03d}:{r.old}": f"{r.version:03d}:{r.new}"
        for r in rewrites(sql_dir)
        if (r.version, r.new) in on_disk
    }


def apply_migrations(
    conn: db.Connection,
    sql_dir: Path = SQL_DIR,
    log: Callable[[str], None] | None = None,
) -> list[Migration]:
    """Apply the pending migrations, then sql/functions/, then the backfills due, on an idle connection.

    Returns the numbered migrations applied (in order); the repeatable definitions are applied
    every time and not returned, nor are the backfills.
    """
    say = log or (lambda _message: None)
    migrations = discover(sql_dir)
    backfill_files = backfills(sql_dir, migrations)
    rewritten = rewrites(sql_dir)
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
            conn.execute(sqlfiles.query("migrate/schema_backfills.sql", table=_BACKFILLS))
            applied = applied_versions(conn)
            pending = check(migrations, applied, rewritten)
            with_backfill = {b.version for b in backfill_files}
            for migration in accepted_rewrites(migrations, applied, rewritten):
                with conn.transaction():
                    conn.execute(
                        sql.SQL("update {} set checksum = %s where version = %s").format(_TABLE),
                        (migration.checksum, migration.version),
                    )
                    if migration.version in with_backfill:  # the old file ran it
                        _record_backfill(conn, migration, on_conflict=True)
                say(f"accepted {migration.path.name} as rewritten ({REWRITTEN_FILE})")
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
            applied_now = applied.keys() | {m.version for m in pending}
            done = backfilled_versions(conn)
            for backfill in backfill_files:
                if backfill.version in applied_now and backfill.version not in done:
                    with conn.transaction():
                        conn.execute(backfill.text.encode("utf-8"))
                        _record_backfill(conn, backfill)
                    say(f"backfilled {BACKFILLS_DIR}/{backfill.path.name}")
            return pending
        finally:
            if not conn.closed:
                conn.execute("select pg_advisory_unlock(%s)", (LOCK_KEY,))
    finally:
        if not conn.closed:
            conn.autocommit = autocommit


def _record_backfill(conn: db.Connection, migration: Migration, on_conflict: bool = False) -> None:
    statement = "insert into {} (version, name) values (%s, %s)"
    if on_conflict:
        statement += " on conflict (version) do nothing"
    conn.execute(sql.SQL(statement).format(_BACKFILLS), (migration.version, migration.name))


def migrate(
    database_url: str,
    sql_dir: Path = SQL_DIR,
    log: Callable[[str], None] | None = None,
) -> list[Migration]:
    """Connect, apply the pending migrations, sql/functions/ and the backfills due.

    Returns the migrations applied: [] when the numbered migrations were up to date
    (sql/functions/ is applied all the same).
    """
    with db.connect(database_url, application_name="clickstream-migrate") as conn:
        return apply_migrations(conn, sql_dir, log)
