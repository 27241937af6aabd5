"""Lists of staged events loaded through SessionizeAndUpsert, one execution a list, as the pipeline does.

A test subclasses ``UpsertRuns`` with its executions' name prefix and hour, and adds what it reads back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from clickstream.core import db
from clickstream.core.storage import Lake
from clickstream.pipeline import load
from tests.support.staged import StagedObjectSpec, Stager, raw_key


class UpsertRuns:
    """Loads lists of events into one database: ``run(events)`` stages them as one raw object of one
    batch and upserts that as execution ``<PREFIX>-<n>`` (n = 1, 2, ...) of hour ``HOUR``."""

    PREFIX: ClassVar[str]
    HOUR: ClassVar[datetime]

    def __init__(self, url: str, lake: Lake, stager: Stager) -> None:
        self.url, self.lake, self.stager, self.count = url, lake, stager, 0

    def run(self, events: list[dict[str, Any]]) -> None:
        self.count += 1
        execution = f"{self.PREFIX}-{self.count}"
        batch = self.stager.batch(execution, 0, [StagedObjectSpec(raw_key(execution), events)])
        with db.connect(self.url) as conn:
            load.upsert(
                conn,
                self.lake,
                execution=execution,
                hour=self.HOUR,
                worklist_key=self.stager.worklist(execution, [batch]),
            )
