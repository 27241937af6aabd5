"""Embedded PostgreSQL (pgserver) servers and fresh databases on them."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg


@contextmanager
def embedded_postgres(prefix: str) -> Iterator[Any]:
    """A pgserver PostgresServer (``.get_uri(dbname)``) in a new temp dir, deleted on exit.

    The directory is not under pytest's tmp_path: pgserver runs PostgreSQL as
    its own user, which must reach it (and another pytest process on the
    machine may tidy pytest's temp folders meanwhile).
    """
    import pgserver  # the embedded PostgreSQL wheel; imported only by tests that need it

    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = pgserver.get_server(root / "pgdata", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def admin(server: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(server.get_uri("postgres"), autocommit=True)


def fresh_database(server: Any, template: str | None) -> Iterator[str]:
    """URL of a new database (a copy of ``template``, or empty), dropped when the generator closes."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    with admin(server) as conn:
        if template:
            conn.execute(f"create database {name} template {template}")
        else:
            conn.execute(f"create database {name}")
    try:
        yield server.get_uri(name)
    finally:
        with admin(server) as conn:
            conn.execute(f"drop database if exists {name} with (force)")
