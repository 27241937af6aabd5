"""Sessions as a property, at the SQL level: any arrival order gives the from-scratch batch.

Random events of a few visitors (on a 5-minute grid, so equal timestamps and
gaps of exactly 30 minutes are common; some a millisecond off) arrive over a
few runs in random order, some twice, each run in one or two partitions. Some are
list impressions and list clicks (sql/011), whose slices move when a late event
merges or extends their session.
After every run the warehouse equals clickstream/tools/reference.py's batch over
fact_events, row for row. (tests/e2e/test_sessions_exact.py draws the same
kind of traffic through the whole state machine; this one affords many more
examples.)
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clickstream.core import db
from clickstream.core.storage import Lake
from clickstream.pipeline import load
from clickstream.tools import reference
from tests.support.analyses_sample import assert_analyses_equal_rebuild
from tests.support.staged import StagedObjectSpec, Stager, raw_key, reset_warehouse, staged_event

T = datetime(2025, 10, 18, 20, 0, tzinfo=UTC)
TYPES = ("view", "view", "click", "search", "add_to_cart", "checkout", "purchase", "impression")
CHANNELS = ("Direct", "Organic Search", "Email")


@dataclass(frozen=True)
class Drawn:
    visitor: int
    step: int  # 5-minute steps after T
    jitter_ms: int
    event_type: str
    page: int
    channel: str
    device: str
    agent: tuple[str | None, str | None]  # (browser, os)
    country: str | None
    product: int | None
    qty: int
    currency: str | None
    user_hash: str | None
    run: int  # the run it arrives in
    again: int | None  # a later (or the same) run that delivers it once more
    order: int | None = None  # a purchase's props.order_id (DESIGN.md "Order"), None: none sent


drawn_st = st.builds(
    Drawn,
    visitor=st.integers(0, 2),
    step=st.integers(0, 60),
    jitter_ms=st.sampled_from([0, 0, 0, 1, 59_999]),
    event_type=st.sampled_from(TYPES),
    page=st.integers(0, 3),
    channel=st.sampled_from(CHANNELS),
    device=st.sampled_from(("mobile", "desktop")),
    agent=st.sampled_from(
        (("Chrome", "Windows"), ("Mobile Safari", "iOS"), ("Chrome", "Android"), (None, None))
    ),
    country=st.sampled_from(("DE", "FR", None)),
    product=st.none() | st.integers(0, 2),
    qty=st.integers(1, 3),
    currency=st.sampled_from(("EUR", "USD")),
    user_hash=st.sampled_from((None, None, "h1", "h2")),
    run=st.integers(0, 3),
    again=st.none() | st.integers(0, 3),
    order=st.none() | st.integers(0, 1),
)


def staged(i: int, d: Drawn) -> dict[str, Any]:
    ts = T + timedelta(minutes=5 * d.step, milliseconds=d.jitter_ms)
    ecom: dict[str, Any] = {}
    props = "{}"
    if d.event_type == "impression":  # shows page + 1 products (p-0 .. p-2, a repeat when page is 3)
        shown = [f"p-{((d.product or 0) + k) % 3}" for k in range(d.page + 1)]
        props = json.dumps({"item_list": {"name": f"list-{d.page}", "product_ids": shown}})
    elif d.event_type == "click" and d.product is not None and d.page % 2 == 0:  # a list click
        props = json.dumps({"item_list": {"name": f"list-{d.page}"}})
    elif d.event_type == "purchase" and d.order is not None:
        props = json.dumps({"order_id": f"o{d.order}"})
    if d.product is not None and d.event_type != "impression":
        price = Decimal("9.99") + d.product
        ecom = {"product_id": f"p-{d.product}", "category": "c", "currency": d.currency, "price": str(price)}
        ecom["qty"] = d.qty
        if d.event_type == "purchase":
            ecom["revenue"] = str(price * d.qty)
    return staged_event(
        str(uuid.uuid5(uuid.NAMESPACE_OID, str(i))),
        ts=ts,
        anonymous_id=f"v{d.visitor}",
        event_type=d.event_type,
        page_path=f"/page/{d.page}",
        referrer=f"https://ref{d.page}.example/",
        referrer_host=f"ref{d.page}.example",
        channel=d.channel,
        utm_campaign=f"c{d.page}" if d.page else None,
        device_type=d.device,
        browser=d.agent[0],
        os=d.agent[1],
        country=d.country,
        user_hash=d.user_hash,
        props=props,
        **ecom,
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.lists(drawn_st, min_size=1, max_size=30), split=st.randoms(use_true_random=False))
def test_after_every_run_the_warehouse_equals_the_batch_over_its_events(
    database_url: str, lake: Lake, stager: Stager, events: list[Drawn], split: Any
) -> None:
    reset_warehouse(database_url)
    prefix = uuid.uuid4().hex[:8]
    deliveries: dict[int, list[dict[str, Any]]] = {}
    for i, d in enumerate(events):
        row = staged(i, d)
        deliveries.setdefault(d.run, []).append(row)
        if d.again is not None:
            deliveries.setdefault(max(d.run, d.again), []).append(row)
    for run in sorted(deliveries):
        # Given the run's arrivals in random order, over one or two partitions (transform dedupes
        # within a batch, so a copy in the same run goes to the other partition)
        rows = deliveries[run]
        split.shuffle(rows)
        partitions: list[list[dict[str, Any]]] = [[], []]
        for row in rows:
            p = 0 if split.random() < 0.6 else 1
            if any(r["event_id"] == row["event_id"] for r in partitions[p]):
                p = 1 - p
            partitions[p].append(row)
        execution = f"{prefix}-{run}"
        batches = [
            stager.batch(execution, b, [StagedObjectSpec(raw_key(f"{execution}-{b}"), part)])
            for b, part in enumerate(partitions)
            if part
        ]
        # When it is upserted
        with db.connect(database_url) as conn:
            load.upsert(
                conn, lake, execution=execution, hour=T, worklist_key=stager.worklist(execution, batches)
            )
        # Then sessions, revenue, every aggregate and every event's session are the batch's
        with psycopg.connect(database_url) as conn:
            assert reference.compare(conn) == []
            assert_analyses_equal_rebuild(conn)  # and issue 17's analyses (sql/013) are exact too
