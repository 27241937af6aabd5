"""sql/013's analyses through SessionizeAndUpsert: after every run, in any arrival order, the tables the
load maintains incrementally equal rebuild_analyses() from scratch, and the warehouse equals the
from-scratch reference (clickstream/tools/reference.py)."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import psycopg
import pytest

from clickstream.core.storage import Lake
from clickstream.tools import reference
from tests.support.analyses_sample import EVENTS, RUNS, Runs, assert_analyses_equal_rebuild
from tests.support.staged import Stager


class Checked(Runs):
    def check(self) -> dict[str, list[Any]]:
        with psycopg.connect(self.url) as conn:
            assert reference.compare(conn) == []
            return assert_analyses_equal_rebuild(conn)


def _orders() -> dict[str, list[list[dict[str, Any]]]]:
    shuffled = []
    for seed in (1, 2, 3):
        rng = random.Random(seed)
        events = list(EVENTS)
        rng.shuffle(events)
        cuts = sorted(rng.sample(range(1, len(events)), 3))
        shuffled.append([events[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True)])
    return {
        "as_listed": RUNS,
        "all_at_once": [EVENTS],
        "one_by_one_reversed": [[e] for e in reversed(EVENTS)],
        "shuffled_1": shuffled[0],
        "shuffled_2": shuffled[1],
        "shuffled_3": shuffled[2],
    }


ORDERS = _orders()


@pytest.mark.parametrize("order", sorted(ORDERS))
def test_analyses_stay_exact_after_every_run_in_any_order(
    database_url: str, lake: Lake, stager: Stager, order: str
) -> None:
    runs = Checked(database_url, lake, stager)
    for events in ORDERS[order]:
        runs.run(events)
        final = runs.check()
    # the end state does not depend on the order: the cohort a visitor ends in is its first session's
    assert ("a", "visit") in {(row[0], row[1]) for row in final["retention_cohorts"]}
    cohorts = {(row[0], row[1]): row[2:] for row in final["retention_cohorts"]}
    assert cohorts[("a", "visit")] == (datetime(2025, 10, 6).date(), "mobile", "DE", "Email")
    assert cohorts[("d", "visit")] == (datetime(2025, 10, 9).date(), "mobile", "FR", "Paid Search")
    # and a replay of events already loaded changes nothing
    runs.run(EVENTS[:5])
    assert runs.check() == final
