"""Issue 17's analyses: a hand-countable visit history loaded through SessionizeAndUpsert.

Weeks start on Monday: W0 = 6-12 Oct 2025, W1 = 13-19 Oct, W2 = 20-26 Oct, W3 = 27 Oct - 2 Nov.
Every event is a page view unless said otherwise; pages are paths (Paths shows /p/l1 and /p/m1, the
pages of products L1 and M1, as "product: laptops" and "product: mice").

    visitor  session (UTC)      slice                      events
    a        Mon 6 Oct 10:00    desktop DE Direct          / , /c/laptops, /c/laptops (again), /p/l1,
                                                           purchase L1
             (late, run 3) 09:45 mobile DE Email: view /   the session starts 09:45, its slice mobile DE Email
             Tue 14 Oct 09:00   desktop DE Direct          / , search "mouse" (5 results); nothing after
             Wed 29 Oct 18:00   desktop DE Direct          / , purchase L1
    b        Wed 8 Oct 12:00    mobile US Email            /p/m1
             Wed 15 Oct 12:00   mobile US Email            / , search "labtop" (0 results), search "laptop"
                                                           (10 results), /c/laptops
    c        Tue 14 Oct 10:00   desktop DE Direct          / , search "Laptop " (12 results), click, /p/l1,
                                                           add_to_cart L1, purchase L1
             Tue 21 Oct 10:00   desktop DE Direct          / , purchase L1
    d        Mon 20 Oct 08:00   tablet FR Referral         /
             (late, run 2) Thu 9 Oct 08:00 mobile FR Paid Search   /p/m1

RUNS splits the events into the order they arrive: most first, then d's late visit (its cohort
moves from W2 to W0 and to another slice), then a's earlier event (its first session's slice).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg

from tests.support.staged import staged_event
from tests.support.upsert import UpsertRuns


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


SLICES = {
    "a": ("desktop", "DE", "Direct"),
    "b": ("mobile", "US", "Email"),
    "c": ("desktop", "DE", "Direct"),
    "d": ("tablet", "FR", "Referral"),
}


def ev(
    name: str,
    ts: datetime,
    visitor: str,
    kind: str = "view",
    page: str = "/",
    product: str | None = None,
    query: str | None = None,
    results: int | None = None,
    slice_: tuple[str, str, str] | None = None,
) -> dict[str, Any]:
    device, country, channel = slice_ or SLICES[visitor]
    extra: dict[str, Any] = {"event_type": kind, "page_path": page, "page_url": f"https://shop.example{page}"}
    if product is not None:
        extra.update(product_id=product, category="laptops" if product.startswith("L") else "mice")
    if kind == "purchase":
        extra.update(currency="USD", price=Decimal("10.00"), qty=1, revenue=Decimal("10.00"))
    if query is not None:
        extra.update(search_query=query, props=f'{{"results": {results}}}')
    return staged_event(
        uuid.uuid5(uuid.NAMESPACE_URL, f"analyses/{name}"),
        ts=ts,
        anonymous_id=visitor,
        device_type=device,
        country=country,
        channel=channel,
        **extra,
    )


FIRST = [
    ev("a1", at(10, 6, 10, 0), "a"),
    ev("a2", at(10, 6, 10, 1), "a", page="/c/laptops"),
    ev("a3", at(10, 6, 10, 2), "a", page="/c/laptops"),
    ev("a4", at(10, 6, 10, 3), "a", page="/p/l1", product="L1"),
    ev("a5", at(10, 6, 10, 4), "a", "purchase", page="/checkout", product="L1"),
    ev("a6", at(10, 14, 9, 0), "a"),
    ev("a7", at(10, 14, 9, 1), "a", "search", page="/search", query="mouse", results=5),
    ev("a8", at(10, 29, 18, 0), "a"),
    ev("a9", at(10, 29, 18, 2), "a", "purchase", page="/checkout", product="L1"),
    ev("b1", at(10, 8, 12, 0), "b", page="/p/m1", product="M1"),
    ev("b2", at(10, 15, 12, 0), "b"),
    ev("b3", at(10, 15, 12, 1), "b", "search", page="/search", query="labtop", results=0),
    ev("b4", at(10, 15, 12, 2), "b", "search", page="/search", query="laptop", results=10),
    ev("b5", at(10, 15, 12, 3), "b", page="/c/laptops"),
    ev("c1", at(10, 14, 10, 0), "c"),
    ev("c2", at(10, 14, 10, 1), "c", "search", page="/search", query="Laptop ", results=12),
    ev("c3", at(10, 14, 10, 2), "c", "click", page="/search"),
    ev("c4", at(10, 14, 10, 3), "c", page="/p/l1", product="L1"),
    ev("c5", at(10, 14, 10, 4), "c", "add_to_cart", page="/p/l1", product="L1"),
    ev("c6", at(10, 14, 10, 5), "c", "purchase", page="/checkout", product="L1"),
    ev("c7", at(10, 21, 10, 0), "c"),
    ev("c8", at(10, 21, 10, 1), "c", "purchase", page="/checkout", product="L1"),
    ev("d1", at(10, 20, 8, 0), "d"),
]
LATE_D = [ev("d0", at(10, 9, 8, 0), "d", page="/p/m1", product="M1", slice_=("mobile", "FR", "Paid Search"))]
LATE_A = [ev("a0", at(10, 6, 9, 45), "a", slice_=("mobile", "DE", "Email"))]
RUNS = [FIRST, LATE_D, LATE_A]
EVENTS = [e for run in RUNS for e in run]


class Runs(UpsertRuns):
    """Loads lists of events, one SessionizeAndUpsert run each, as the pipeline does."""

    PREFIX, HOUR = "analyses", at(11, 3, 0)


# sql/013's tables: what the load maintains for the analyses
ANALYSES_TABLES = (
    "retention_cohorts",
    "retention_weeks",
    "agg_retention",
    "agg_retention_all",
    "fact_searches",
    "agg_daily_searches",
    "agg_daily_searches_all",
    "fact_session_paths",
    "agg_daily_paths",
    "agg_daily_paths_all",
)


def analyses_tables(conn: psycopg.Connection[Any]) -> dict[str, list[Any]]:
    return {t: sorted(conn.execute(f"select * from {t}").fetchall(), key=repr) for t in ANALYSES_TABLES}


def assert_analyses_equal_rebuild(conn: psycopg.Connection[Any]) -> dict[str, list[Any]]:
    """The analyses as the load left them equal rebuild_analyses() from scratch (rolled back); returned."""
    incremental = analyses_tables(conn)
    with conn.transaction(force_rollback=True):
        conn.execute("select rebuild_analyses()")
        rebuilt = analyses_tables(conn)
    assert incremental == rebuilt
    return incremental
