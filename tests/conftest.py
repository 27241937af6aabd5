"""Fixtures shared by every test layer: a real PostgreSQL (pgserver) and S3 from moto.

- ``pg_server``: one embedded PostgreSQL 16 per test session, in a temp dir.
- ``migrated_template``: the name of a database migrated once per session
  (every sql/NNN_*.sql), the template of each test's database.
- ``database_url``: a fresh, migrated database for one test
  (``create database ... template``, a few tens of ms), dropped afterwards.
- ``empty_database_url``: a fresh database with no schema at all.
- ``lake``: a ``clickstream.core.storage.Lake`` on a moto S3 bucket (``LAKE_BUCKET``).
- ``stager``: a ``tests.support.staged.Stager`` on ``lake``, which writes staged
  batches and worklists as transform and list_new do.

Nothing here is imported or started unless a test asks for it. Plain helpers
live in ``tests/support/``.

No test asserts on wall-clock time (speed is measured in bench/), so
hypothesis's per-example deadline (200 ms by default) is off everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

from clickstream.core.storage import Lake
from tests.support.aws import use_moto
from tests.support.postgres import admin, embedded_postgres, fresh_database
from tests.support.staged import Stager

LAKE_BUCKET = "clickstream-lake-test"
TEMPLATE_DB = "clickstream_template"

settings.register_profile("clickstream", deadline=None)
settings.load_profile("clickstream")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """A pgserver PostgresServer (``.get_uri(dbname)``), deleted at the end of the session."""
    with embedded_postgres("clickstream-pg-") as server:
        yield server


@pytest.fixture(scope="session")
def migrated_template(pg_server: Any) -> str:
    """A database with every migration applied, used only as a template."""
    from clickstream.core import migrate

    with admin(pg_server) as conn:
        conn.execute(f"drop database if exists {TEMPLATE_DB}")
        conn.execute(f"create database {TEMPLATE_DB}")
    migrate.migrate(pg_server.get_uri(TEMPLATE_DB))
    return TEMPLATE_DB


@pytest.fixture
def database_url(pg_server: Any, migrated_template: str) -> Iterator[str]:
    """URL of a fresh database with the whole schema, for this test only."""
    yield from fresh_database(pg_server, migrated_template)


@pytest.fixture
def empty_database_url(pg_server: Any) -> Iterator[str]:
    """URL of a fresh database without any schema (for migration tests)."""
    yield from fresh_database(pg_server, None)


@pytest.fixture
def lake(monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    """A Lake on an empty moto S3 bucket; nothing leaves the process."""
    import boto3
    from moto import mock_aws

    use_moto(monkeypatch)
    monkeypatch.setenv("LAKE_BUCKET", LAKE_BUCKET)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=LAKE_BUCKET)
        yield Lake(LAKE_BUCKET, client)


@pytest.fixture
def stager(lake: Lake) -> Stager:
    return Stager(lake)
