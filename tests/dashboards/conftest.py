"""Dashboard tests without a browser: the query, view and format code against a real PostgreSQL.

``sample_url`` is a fresh migrated database (``database_url``, tests/conftest.py)
filled with the hand-countable sample of ``tests/support/dashboard_sample.py``;
``empty_url`` is one with the schema and no rows. The app's modules live in
``shiny/`` (run as ``shiny run shiny/app.py``, which puts that folder first on
``sys.path``); the tests import them the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.dashboard_sample import write_sample
from tests.support.postgres import fresh_database

APP_DIR = Path(__file__).resolve().parents[2] / "shiny"
if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))


@pytest.fixture
def sample_url(database_url: str) -> Iterator[str]:
    write_sample(database_url)
    yield database_url


@pytest.fixture
def empty_url(pg_server: Any, migrated_template: str) -> Iterator[str]:
    """Another fresh migrated database, left empty (a test may use it beside ``sample_url``)."""
    yield from fresh_database(pg_server, migrated_template)
