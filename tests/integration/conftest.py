"""Integration fixtures: a real PostgreSQL (pgserver) and S3 from moto.

- ``pg_server``: one embedded PostgreSQL 16 per test session, in a temp dir.
- ``migrated_template``: the name of a database migrated once per session
  (every sql/NNN_*.sql), the template of each test's database.
- ``database_url``: a fresh, migrated database for one test
  (``create database ... template``, a few tens of ms), dropped afterwards.
- ``empty_database_url``: a fresh database with no schema at all.
- ``lake``: a ``clickstream.core.storage.Lake`` on a moto S3 bucket (``LAKE_BUCKET``).
- ``stager``: writes staged batches (``<batch_key>.tsv.gz`` + ``.json``) and
  worklists to ``lake`` as transform and list_new do; rows come from
  ``staged_event(...)``, objects from ``StagedObjectSpec(key, events, ...)``.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws

from clickstream.core import migrate
from clickstream.core.storage import Lake
from clickstream.pipeline.staged import STAGED_COLUMNS, copy_line

LAKE_BUCKET = "clickstream-lake-test"
TEMPLATE_DB = "clickstream_template"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """A pgserver PostgresServer (``.get_uri(dbname)``), deleted at the end of the session."""
    import pgserver  # the embedded PostgreSQL wheel; imported only by tests that need it

    root = Path(tempfile.mkdtemp(prefix="clickstream-pg-"))
    server = pgserver.get_server(root / "pgdata", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def _admin(pg_server: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(pg_server.get_uri("postgres"), autocommit=True)


@pytest.fixture(scope="session")
def migrated_template(pg_server: Any) -> str:
    """A database with every migration applied, used only as a template."""
    with _admin(pg_server) as admin:
        admin.execute(f"drop database if exists {TEMPLATE_DB}")
        admin.execute(f"create database {TEMPLATE_DB}")
    migrate.migrate(pg_server.get_uri(TEMPLATE_DB))
    return TEMPLATE_DB


def _fresh_database(pg_server: Any, template: str | None) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:16]}"
    with _admin(pg_server) as admin:
        if template:
            admin.execute(f"create database {name} template {template}")
        else:
            admin.execute(f"create database {name}")
    try:
        yield pg_server.get_uri(name)
    finally:
        with _admin(pg_server) as admin:
            admin.execute(f"drop database if exists {name} with (force)")


@pytest.fixture
def database_url(pg_server: Any, migrated_template: str) -> Iterator[str]:
    """URL of a fresh database with the whole schema, for this test only."""
    yield from _fresh_database(pg_server, migrated_template)


@pytest.fixture
def empty_database_url(pg_server: Any) -> Iterator[str]:
    """URL of a fresh database without any schema (for migration tests)."""
    yield from _fresh_database(pg_server, None)


@pytest.fixture
def lake(monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    """A Lake on an empty moto S3 bucket; nothing leaves the process."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("LAKE_BUCKET", LAKE_BUCKET)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=LAKE_BUCKET)
        yield Lake(LAKE_BUCKET, client)


# ----------------------------------------------------------------- staged batches, as transform writes them

BASE_TS = datetime(2025, 10, 18, 13, 0, tzinfo=UTC)


def staged_event(event_id: uuid.UUID | str | None = None, **overrides: Any) -> dict[str, Any]:
    """One staged row (every STAGED_COLUMNS column but src), a plausible page view by default."""
    ts = overrides.pop("ts", BASE_TS)
    row: dict[str, Any] = {
        "event_id": str(event_id or uuid.uuid4()),
        "client_session_id": str(uuid.UUID(int=1)),
        "anonymous_id": "anon-1",
        "user_hash": None,
        "event_type": "view",
        "ts": ts.isoformat(),
        "received_at": ts.isoformat(),
        "event_date": ts.date().isoformat(),
        "event_hour": ts.hour,
        "page_url": "https://shop.example/",
        "page_path": "/",
        "referrer": None,
        "referrer_host": None,
        "utm_source": None,
        "utm_medium": None,
        "utm_campaign": None,
        "utm_term": None,
        "utm_content": None,
        "channel": "Direct",
        "device_type": "desktop",
        "country": "DE",
        "city": "Berlin",
        "product_id": None,
        "category": None,
        "currency": None,
        "price": None,
        "qty": None,
        "revenue": None,
        "search_query": None,
        "props": "{}",
        "is_ts_clamped": False,
    }
    unknown = set(overrides) - set(row)
    if unknown:
        raise TypeError(f"not staged columns: {sorted(unknown)}")
    row.update(overrides)
    return row


@dataclass
class StagedObjectSpec:
    """One raw object of a batch: its staged rows and transform's other counts."""

    key: str
    events: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0  # in-batch duplicates transform dropped
    rejects: dict[str, int] = field(default_factory=dict)
    quarantined: bool = False
    etag: str | None = None
    partition_hour: datetime = BASE_TS

    def manifest_entry(self) -> dict[str, Any]:
        rejected = sum(self.rejects.values())
        return {
            "key": self.key,
            "etag": self.etag or f"etag-{self.key}",
            "size": 100 + len(self.events),
            "partition_hour": self.partition_hour.strftime("%Y-%m-%dT%H:00:00Z"),
            "lines_read": len(self.events) + self.duplicates + rejected,
            "staged": len(self.events),
            "duplicates": self.duplicates,
            "rejected": rejected,
            "rejects": dict(self.rejects),
            "quarantined": self.quarantined,
        }


def raw_key(name: str, hour: datetime = BASE_TS) -> str:
    return f"raw/year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/events-{name}.ndjson.gz"


def staged_bytes(objects: list[StagedObjectSpec]) -> bytes:
    """The gzipped text-COPY body of a batch (src = the object's position)."""
    lines = [
        copy_line([src, *(event[c] for c in STAGED_COLUMNS[1:])])
        for src, obj in enumerate(objects)
        for event in obj.events
    ]
    return gzip.compress(("".join(f"{line}\n" for line in lines)).encode("utf-8"), compresslevel=1)


class Stager:
    """Writes staged batches and worklists to a Lake exactly where transform and list_new do."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def batch(self, execution: str, index: int, objects: list[StagedObjectSpec]) -> str:
        batch_key = f"staged/{execution}/batches/{index:05d}"
        staged_key = f"{batch_key}.tsv.gz"
        self.lake.put_bytes(staged_key, staged_bytes(objects), "application/gzip")
        self.lake.put_json(
            f"{batch_key}.json",
            {
                "execution": execution,
                "batch_key": batch_key,
                "staged_key": staged_key,
                "rows": sum(len(o.events) for o in objects),
                "objects": [o.manifest_entry() for o in objects],
            },
        )
        return batch_key

    def worklist(self, execution: str, batch_keys: list[str], hour: datetime = BASE_TS) -> str:
        key = f"staged/{execution}/worklist.json"
        items = [
            {
                "work_key": f"staged/{execution}/work/{i:05d}.json",
                "batch_key": batch_key,
                "partition_hour": hour.strftime("%Y-%m-%dT%H:00:00Z"),
                "objects": 1,
            }
            for i, batch_key in enumerate(batch_keys)
        ]
        self.lake.put_json(
            key, {"execution": execution, "hour": hour.strftime("%Y-%m-%dT%H:00:00Z"), "items": items}
        )
        return key


@pytest.fixture
def stager(lake: Lake) -> Stager:
    return Stager(lake)
