"""The floor of a durable load (bench/floor.py) stores exactly the events the contract keeps, in a
table with fact_events' indexes, and leaves the warehouse as it found it. (Its speed is measured
by ``make bench``, never asserted here.)"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench import floor
from clickstream.tools.generate import GeneratorConfig
from clickstream.tools.generate.generator import generate_to_dir


def test_floor_copies_the_unique_valid_events_into_an_indexed_copy_of_fact_events(
    tmp_path: Path, database_url: str
) -> None:
    config = GeneratorConfig(
        seed=5,
        start=datetime(2025, 9, 3, tzinfo=UTC),
        hours=6,
        events_per_day=6_000,
        duplicate_rate=0.05,
        late_rate=0.05,
    )
    truth = generate_to_dir(config, tmp_path)
    result = floor.run(database_url, tmp_path, log=lambda _: None)
    assert result["events"] == truth.unique_valid_events
    assert result["lines"] == truth.lines_written
    assert result["index_bytes"] > 0 and result["table_bytes"] > 0
    with psycopg.connect(database_url) as conn:
        left = conn.execute("select to_regclass(%s)", (floor.TABLE,)).fetchone()
        stored = conn.execute("select count(*) from fact_events").fetchone()
    assert left == (None,)  # the floor's table is dropped
    assert stored == (0,)  # and the warehouse is untouched
