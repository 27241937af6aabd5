"""The warehouse host's bootstrap, run for real against a throwaway PostgreSQL (pgserver).

The package, systemd and TLS steps need an Amazon Linux host; the roles and
the migrations are plain psql, and run here exactly as on the host: the
script is sourced, ``as_postgres`` runs psql as this test's superuser.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import psycopg
import pytest

from clickstream.core import migrate
from infra import constants as c
from tests.support.postgres import embedded_postgres

WAREHOUSE_SH = c.HOST_SCRIPTS_DIR / "warehouse.sh"
HOST_SCRIPTS = sorted(c.HOST_SCRIPTS_DIR.glob("*.sh"))
DATABASE = "clickstream_host_test"


@pytest.mark.parametrize("script", HOST_SCRIPTS, ids=[p.name for p in HOST_SCRIPTS])
def test_host_scripts_are_valid_bash(script: Path) -> None:
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def postgres() -> Iterator[Any]:
    """A server of its own: the bootstrap creates roles, which belong to the whole cluster."""
    with embedded_postgres("clickstream-host-pg-") as server:
        yield server


def bootstrap(postgres: Any, steps: str) -> subprocess.CompletedProcess[str]:
    """Source warehouse.sh and run ``steps`` (its functions) against the test server."""
    from pgserver._commands import POSTGRES_BIN_PATH  # its psql, the server's version

    uri = urlparse(postgres.get_uri())
    env = {
        "PATH": f"{POSTGRES_BIN_PATH}:/usr/bin:/bin",
        "PGHOST": parse_qs(uri.query)["host"][0],
        "PGPORT": str(uri.port or 5432),
        "PGUSER": uri.username or "postgres",
        "PGPASSWORD": uri.password or "",
    }
    script = f"""
source '{WAREHOUSE_SH}'
as_postgres() {{ "$@"; }}
pipeline_password() {{ echo 'pipeline-test-password'; }}
database={DATABASE} lock_key={c.MIGRATIONS_LOCK_KEY} migrations_table={c.MIGRATIONS_TABLE}
pipeline_user={c.PIPELINE_DB_USER} dashboard_user={c.DASHBOARD_DB_USER}
{steps}
"""
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=False)


def apply(postgres: Any, sql_dir: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return bootstrap(
        postgres,
        f"create_roles_and_database\n"
        f"migrations_script '{sql_dir}' > '{tmp_path}/apply.psql'\n"
        f"as_postgres psql --quiet -d {DATABASE} -f '{tmp_path}/apply.psql'",
    )


def query(postgres: Any, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(postgres.get_uri(DATABASE)) as conn:
        return list(conn.execute(sql).fetchall())


def test_roles_database_and_migrations_as_on_the_host(postgres: Any, tmp_path: Path) -> None:
    # Given a fresh server, When the host's steps run
    first = apply(postgres, c.SQL_DIR, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    # Then every migration is applied, with the bookkeeping of `clickstream db migrate`
    expected = [(m.version, m.name, m.checksum) for m in migrate.discover(c.SQL_DIR)]
    applied = query(postgres, f"select version, name, checksum from {c.MIGRATIONS_TABLE} order by version")
    assert applied == expected
    assert migrate.migrate(postgres.get_uri(DATABASE)) == []  # the Python migrator agrees: nothing to do
    # owned by the pipeline role, readable by the dashboards' role, the password set
    owners = query(postgres, "select distinct tableowner from pg_tables where schemaname = 'public'")
    assert owners == [(c.PIPELINE_DB_USER,)]
    (reader,) = query(postgres, f"select pg_has_role('{c.DASHBOARD_DB_USER}', 'pg_read_all_data', 'member')")
    assert reader == (True,)
    (password_set,) = query(
        postgres, "select rolpassword is not null from pg_authid where rolname = 'pipeline'"
    )
    assert password_set == (True,)

    # When the host boots again, Then nothing is applied twice
    again = apply(postgres, c.SQL_DIR, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "applying" not in again.stdout
    assert query(postgres, f"select count(*) from {c.MIGRATIONS_TABLE}") == [(len(expected),)]


def test_an_edited_migration_is_refused(postgres: Any, tmp_path: Path) -> None:
    # Given the migrations applied, and then one of them edited
    assert apply(postgres, c.SQL_DIR, tmp_path).returncode == 0
    edited = tmp_path / "sql"
    shutil.copytree(c.SQL_DIR, edited)
    first = sorted(edited.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after it was applied\n")
    # When the host applies them, Then it stops and says why
    result = apply(postgres, edited, tmp_path)
    assert result.returncode != 0
    assert "changed after it was applied" in result.stderr
