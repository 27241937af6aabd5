"""Sessions stay exact through the state machine: any arrival order, redrives, and real traffic.

One stack for the module. The comparison with clickstream/tools/reference.py is
global (every row of fact_events), so the tests may share the warehouse;
each uses visitors and hours of its own. Each new set of hours lies before
the ones already run: ListNew lists from min(watermark, hour) - 2 h, so an
hour far after the watermark would list every partition in between.
"""

from __future__ import annotations

import gzip
import itertools
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clickstream.core.contract import ts_iso
from clickstream.core.lake import execution_name, hour_iso, new_raw_key
from clickstream.tools import reference
from clickstream.tools.adapters import rees46
from clickstream.tools.adapters.common import ImportSummary, write_lake
from tests.support.real_samples import REES46_CSV
from tests.support.stack import RunningStack

HOUR = timedelta(hours=1)
GAP = timedelta(minutes=30)
PAGES = (
    "https://shop.example/",
    "https://shop.example/p/laptop-14?utm_source=google&utm_medium=cpc&utm_campaign=laptops",
    "https://shop.example/p/mouse",
    "https://shop.example/cart?utm_source=newsletter&utm_medium=email&utm_campaign=oct",
)
REFERRERS = (None, "https://www.google.com/", "https://www.facebook.com/", "https://blog.example.org/post")
TYPES = ("view", "view", "click", "search", "add_to_cart", "checkout", "purchase")
examples = itertools.count()


def warehouse_problems(stack: RunningStack) -> list[str]:
    with psycopg.connect(stack.info.database_url) as conn:
        return reference.compare(conn)


def put_lines(stack: RunningStack, hour: datetime, lines: list[bytes]) -> None:
    stack.lake.put_bytes(new_raw_key(hour), gzip.compress(b"".join(line + b"\n" for line in lines)))


# ----------------------------------------------------------------- arrival in any order, hour by hour


@dataclass(frozen=True)
class Drawn:
    visitor: int
    step: int  # 5-minute steps after the example's first hour: equal times and 30-minute gaps happen
    jitter_ms: int
    event_type: str
    page: int
    referrer: int
    device: str
    country: str | None
    product: int | None
    qty: int
    currency: str
    user_id: str | None
    arrival: int  # which of the (possible) arrival hours delivers it
    again: int | None  # a second delivery, in that arrival hour
    delay_s: int  # received this long after ts (or after its arrival hour began)


drawn_st = st.builds(
    Drawn,
    visitor=st.integers(0, 2),
    step=st.integers(0, 35),
    jitter_ms=st.sampled_from([0, 0, 0, 1, 59_999]),
    event_type=st.sampled_from(TYPES),
    page=st.integers(0, len(PAGES) - 1),
    referrer=st.integers(0, len(REFERRERS) - 1),
    device=st.sampled_from(("mobile", "desktop", "tablet")),
    country=st.sampled_from(("DE", "FR", None)),
    product=st.none() | st.integers(0, 2),
    qty=st.integers(1, 3),
    currency=st.sampled_from(("EUR", "USD")),
    user_id=st.sampled_from((None, None, "user-1", "user-2")),
    arrival=st.integers(0, 20),
    again=st.none() | st.integers(0, 20),
    delay_s=st.integers(0, 1800),
)


@st.composite
def traffic_st(draw: st.DrawFn) -> tuple[list[int], list[Drawn], random.Random]:
    """Arrival hours (offsets from the first hour; 3 always, late ones beyond the 2-hour window), events."""
    arrivals = set(draw(st.lists(st.sampled_from([0, 1, 2]), max_size=3)))
    arrivals |= {3} | set(draw(st.lists(st.sampled_from([6, 27, 70]), max_size=2)))
    events = draw(st.lists(drawn_st, min_size=1, max_size=25))
    return sorted(arrivals), events, draw(st.randoms(use_true_random=False))


def contract_line(example: int, i: int, d: Drawn, ts: datetime, received: datetime) -> bytes:
    ecom = None
    if d.product is not None:
        ecom = {
            "product_id": f"p-{d.product}",
            "category": "accessories",
            "currency": d.currency,
            "price": f"{9.99 + d.product:.2f}",
            "qty": d.qty,
        }
    return orjson.dumps(
        {
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sessions-exact/{example}/{i}")),
            "ts": ts_iso(ts),
            "received_at": ts_iso(received),
            "event_type": d.event_type,
            "session_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sessions-exact/{example}/{d.visitor}")),
            "anonymous_id": f"exact-{example}-v{d.visitor}",
            "user_id": d.user_id,
            "page_url": PAGES[d.page],
            "referrer": REFERRERS[d.referrer],
            "device": {"type": d.device},
            "geo": {"country": d.country} if d.country else {},
            "ecom": ecom,
            "props": {},
        }
    )


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traffic=traffic_st())
def test_after_every_hourly_run_sessions_and_aggregates_equal_the_batch(
    stack: RunningStack, traffic: tuple[list[int], list[Drawn], random.Random]
) -> None:
    arrivals, events, rnd = traffic
    example = next(examples)
    first = datetime(2026, 12, 1, tzinfo=UTC) - example * timedelta(days=4)  # each before the last
    hours = [first + offset * HOUR for offset in arrivals]

    # Given events that arrive in random order over a few receive hours: most within the hour,
    # some hours or days late (beyond the 2-hour window), some twice
    lines: dict[datetime, list[bytes]] = defaultdict(list)
    for i, d in enumerate(events):
        ts = first + timedelta(minutes=5 * d.step, milliseconds=d.jitter_ms)
        possible = [h for h in hours if h + HOUR > ts]  # received at or after ts, within 72 h
        for choice in (d.arrival, d.again):
            if choice is None:
                continue
            hour = possible[choice % len(possible)]
            received = min(max(ts, hour) + timedelta(seconds=d.delay_s), hour + HOUR - timedelta(seconds=1))
            lines[hour].append(contract_line(example, i, d, ts, received))

    for hour in hours:
        # When the hour's objects land in its partition and the hour runs through the state machine
        batch = lines.get(hour, [])
        rnd.shuffle(batch)
        cut = rnd.randint(0, len(batch))
        for part in (batch[:cut], batch[cut:]):
            if part:
                put_lines(stack, hour, part)
        assert stack.op.run(hour)["status"] == "SUCCEEDED"

        # Then every session, revenue and aggregate row (and each event's session) is the batch's
        assert warehouse_problems(stack) == []

    loaded = stack.scalar(
        "select count(*) from fact_events where anonymous_id like %s", (f"exact-{example}-%",)
    )
    assert loaded == len(events)


# ----------------------------------------------------------------- a crash before AdvanceWatermark


def snapshot(stack: RunningStack) -> dict[str, list[tuple[Any, ...]]]:
    """Every row sessions and aggregates hold, with xmin: a row rewritten with equal values still shows."""
    tables = (
        "fact_sessions",
        "fact_session_revenue",
        "agg_daily_sessions",
        "agg_daily_revenue",
        "agg_daily_visitors",
        "agg_daily_product_visitors",
    )
    out = {t: stack.query(f"select *, xmin::text from {t} order by 1, 2, 3") for t in tables}
    out["fact_events"] = stack.query("select event_id, session_id, xmin::text from fact_events order by 1")
    out["objects"] = stack.query(
        "select object_key, loaded, duplicates from etl_processed_objects order by 1"
    )
    return out


def run_status(stack: RunningStack, execution: str) -> str:
    return str(stack.scalar("select status from etl_runs where execution_name = %s", (execution,)))


def visitor_line(name: str, ts: datetime, received: datetime | None = None, **fields: Any) -> bytes:
    visitor = "redrive-v1"
    event = {
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"redrive/{name}")),
        "ts": ts_iso(ts),
        "received_at": ts_iso(received or ts),
        "event_type": "view",
        "session_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"redrive/{visitor}")),
        "anonymous_id": visitor,
        "page_url": "https://shop.example/",
        "device": {"type": "desktop"},
        **fields,
    }
    return orjson.dumps(event)


def test_a_redrive_after_a_crash_between_upsert_and_advance_watermark_changes_nothing(
    stack: RunningStack,
) -> None:
    # Given two sessions 40 minutes apart, committed by their hour's run
    minute = timedelta(minutes=1)
    first = datetime(2019, 6, 1, 10, tzinfo=UTC)
    put_lines(stack, first, [visitor_line("a", first), visitor_line("b", first + 40 * minute)])
    stack.cli("run", "--hour", hour_iso(first))
    assert stack.scalar("select count(*) from fact_sessions where anonymous_id = 'redrive-v1'") == 2

    # When the next hour brings a late event that bridges them, and AdvanceWatermark fails for good
    second = first + HOUR
    late = visitor_line(
        "late",
        first + 20 * minute,
        received=second + 2 * minute,
        event_type="purchase",
        ecom={"product_id": "p-1", "currency": "EUR", "price": "19.90", "qty": 2},
    )
    put_lines(stack, second, [late, visitor_line("c", second + 5 * minute)])
    watermark = stack.scalar("select watermark_hour from etl_watermark")
    stack.faults({"load": [{"error": "ConfigurationError", "action": "advance_watermark", "times": -1}]})
    failed = stack.cli("run", "--hour", hour_iso(second), check=False)

    # Then the execution failed after SessionizeAndUpsert committed: one merged session, the watermark
    # not moved
    assert failed.returncode == 1
    report = stack.op.report(execution_name(second))
    assert (report.status, report.error) == ("FAILED", "ConfigurationError")
    assert run_status(stack, execution_name(second)) == "UPSERTED"
    assert stack.scalar("select watermark_hour from etl_watermark") == watermark
    assert stack.query(
        "select count_events, reached_purchase from fact_sessions where anonymous_id = 'redrive-v1'"
    ) == [(4, True)]
    before = snapshot(stack)
    assert warehouse_problems(stack) == []

    # When the cause is removed and the hour is redriven (twice)
    stack.faults({})
    stack.cli("redrive", "--hour", hour_iso(second)[:13])
    stack.cli("redrive", "--hour", hour_iso(second)[:13], "--rerun")  # succeeded now: a re-run

    # Then nothing changed twice: not a row rewritten; and the watermark moved
    assert snapshot(stack) == before
    assert stack.scalar("select watermark_hour from etl_watermark") == max(watermark, second)
    # the redrive resumed the same run at AdvanceWatermark (its run name); the re-run is a run of its own
    assert run_status(stack, execution_name(second)) == "SUCCEEDED"
    assert stack.op.failed_hours() == []


# ----------------------------------------------------------------- real traffic: REES46


@dataclass
class SessionComparison:
    client_sessions: int
    our_sessions: int
    one_to_one: int  # a REES46 session that is exactly one of ours
    split: int  # REES46 sessions spread over 2+ of ours
    merged: int  # REES46 sessions inside one of ours together with other REES46 sessions
    ours_merging: int  # our sessions that hold 2+ REES46 sessions
    interleaved: int  # of those: where the REES46 sessions overlap in time
    max_gap_inside_split_s: float  # the largest gap inside a split REES46 session


def compare_with_client_sessions(
    rows: list[tuple[uuid.UUID, uuid.UUID, str, datetime, uuid.UUID]],
) -> SessionComparison:
    """rows: (client_session_id, session_id, anonymous_id, ts, event_id) of the sample's events."""
    ours_of: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    clients_of: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    times: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for client, ours, _, ts, _ in rows:
        ours_of[client].add(ours)
        clients_of[ours].add(client)
        times[client].append(ts)
    split = [c for c, ours in ours_of.items() if len(ours) > 1]
    merged = [c for c, ours in ours_of.items() if len(ours) == 1 and len(clients_of[next(iter(ours))]) > 1]
    merging = [o for o, clients in clients_of.items() if len(clients) > 1]
    interleaved = 0
    for o in merging:
        spans = sorted((min(times[c]), max(times[c])) for c in clients_of[o])
        interleaved += any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))
    gaps = [max((b - a).total_seconds() for a, b in itertools.pairwise(sorted(times[c]))) for c in split]
    return SessionComparison(
        client_sessions=len(ours_of),
        our_sessions=len(clients_of),
        one_to_one=len(ours_of) - len(split) - len(merged),
        split=len(split),
        merged=len(merged),
        ours_merging=len(merging),
        interleaved=interleaved,
        max_gap_inside_split_s=max(gaps, default=0.0),
    )


def test_rees46_sessions_compared_with_its_own_session_ids(stack: RunningStack, tmp_path: Path) -> None:
    # Given the REES46 sample as contract events in the lake (00:00 to 02:50 UTC on 2019-10-01)
    summary = ImportSummary(source="rees46")
    write_lake(list(rees46.convert(REES46_CSV, summary)), tmp_path, summary, random.Random(46))
    for path in sorted((tmp_path / "raw").rglob("*.ndjson.gz")):
        stack.lake.put_bytes(path.relative_to(tmp_path).as_posix(), path.read_bytes())

    # When its three hours run through the state machine
    first = datetime(2019, 10, 1, tzinfo=UTC)
    stack.cli("backfill", "--from", hour_iso(first), "--to", hour_iso(first + 2 * HOUR))

    # Then our sessions are exact, and differ from REES46's user_session ids only as the definitions do
    assert warehouse_problems(stack) == []
    rows = stack.query(
        "select client_session_id, session_id, anonymous_id, ts, event_id from fact_events"
        " where ts >= %s and ts < %s",
        (first, first + timedelta(days=1)),
    )
    assert len(rows) == summary.events_written
    found = compare_with_client_sessions(rows)
    print(f"\nREES46 sample: {len(rows):,} events; {found}")
    assert found.one_to_one + found.split + found.merged == found.client_sessions
    # a REES46 session is split only where it has a gap over 30 minutes (for any visitor's stream)
    if found.split:
        assert found.max_gap_inside_split_s > GAP.total_seconds()
    # and ours never has one
    by_session: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for _, ours, _, ts, _ in rows:
        by_session[ours].append(ts)
    assert all(b - a <= GAP for ts in by_session.values() for a, b in itertools.pairwise(sorted(ts)))
