"""sql/013's analyses against a reference written independently, in Python, from the definitions of
docs/DESIGN.md ("Retention", "Site search", "Paths") over fact_sessions and fact_events (which
reference.compare checks against the from-scratch batch): random histories of a few visitors over
five weeks, loaded in random batches, equal the reference after the last run and rebuild_analyses()
after every run."""

from __future__ import annotations

import random
import re
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from clickstream.core.storage import Lake
from clickstream.tools import reference
from tests.support.analyses_sample import Runs
from tests.support.staged import Stager, staged_event

START = datetime(2025, 10, 6, tzinfo=UTC)  # a Monday
PAGES = ("/", "/c/laptops", "/c/mice", "/cart", "/search", None)
QUERIES = ("laptop", " Laptop  ", "mouse", "labtop", "usb\tc hub", None)
SLICES = (("desktop", "DE", "Direct"), ("mobile", "US", "Email"), ("tablet", None, "Referral"))


def random_events(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events = []
    for visitor in ("v0", "v1", "v2", "v3", "v4", "v5"):
        for _ in range(rng.randint(1, 6)):  # visits: a few events minutes apart
            ts = START + timedelta(
                days=rng.randint(0, 34), hours=rng.randint(0, 23), minutes=rng.randint(0, 59)
            )
            for _ in range(rng.randint(1, 7)):
                kind = rng.choice(("view", "view", "view", "search", "click", "add_to_cart", "purchase"))
                product = rng.choice(("L1", "M1", None)) if kind != "search" else None
                device, country, channel = rng.choice(SLICES)
                extra: dict[str, Any] = {"event_type": kind, "page_path": rng.choice(PAGES)}
                if product is not None:
                    extra.update(
                        product_id=product,
                        category=rng.choice(("laptops", "")) if product == "L1" else "mice",
                    )
                if kind == "purchase":
                    extra.update(currency="USD", price=Decimal("5.00"), qty=1, revenue=Decimal("5.00"))
                if kind == "search":
                    results = rng.choice((0, 3, None))
                    extra.update(
                        search_query=rng.choice(QUERIES),
                        props="{}" if results is None else f'{{"results": {results}}}',
                    )
                events.append(
                    staged_event(
                        uuid.uuid4(),
                        ts=ts,
                        anonymous_id=visitor,
                        device_type=device,
                        country=country,
                        channel=channel,
                        **extra,
                    )
                )
                ts += timedelta(minutes=rng.choice((0, 1, 5, 20, 40)))  # 40: a new session
    return events


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def expected(conn: psycopg.Connection[Any]) -> dict[str, Counter[Any]]:
    """agg_retention, agg_daily_searches and agg_daily_paths by DESIGN.md, from the facts."""
    sessions = conn.execute(
        "select session_id, anonymous_id, session_start, session_date, device_type, coalesce(country, ''),"
        " channel, reached_purchase from fact_sessions order by anonymous_id, session_start"
    ).fetchall()
    events = conn.execute(
        "select session_id, event_type, page_path, product_id, category, search_query, props ->> 'results',"
        " event_date from fact_events order by session_id, ts, event_id"
    ).fetchall()
    by_session: dict[Any, list[Any]] = {}
    for e in events:
        by_session.setdefault(e[0], []).append(e)

    retention: Counter[Any] = Counter()
    for kind in ("visit", "purchase"):
        cohorts: dict[str, tuple[Any, ...]] = {}  # the visitor's first (purchasing) session: date, slice
        weeks: dict[str, set[date]] = {}
        for _sid, visitor, _start, day, device, country, channel, bought in sessions:  # by visitor, start
            if kind == "purchase" and not bought:
                continue
            cohorts.setdefault(visitor, (day, device, country, channel))
            weeks.setdefault(visitor, set()).add(monday(day))
        for visitor, (cohort, *slice_) in cohorts.items():
            for week in weeks[visitor]:
                retention[(kind, cohort, *slice_, (week - monday(cohort)).days // 7)] += 1

    searches: Counter[Any] = Counter()
    paths: Counter[Any] = Counter()
    for sid, _visitor, _start, day, device, country, channel, bought in sessions:
        rows = by_session[sid]
        for i, (_s, kind, _page, _product, _category, query, results, event_day) in enumerate(rows):
            if kind != "search":
                continue
            later = rows[i + 1 :]
            pages_after = [r[1] for r in later if r[1] in ("view", "search")]
            normal = re.sub(r"\s+", " ", (query or "").lower().strip(" "))
            key = (event_day, device, country, channel, normal)
            searches[(*key, "searches")] += 1
            searches[(*key, "no_results")] += results == "0"
            searches[(*key, "product_views")] += any(r[1] == "view" and r[3] is not None for r in later)
            searches[(*key, "purchases")] += any(r[1] == "purchase" for r in later)
            searches[(*key, "exits")] += not pages_after
            searches[(*key, "searched_again")] += bool(pages_after) and pages_after[0] == "search"
        pages: list[str] = []
        for _s, kind, page, product, category, *_rest in rows:
            if kind != "view":
                continue
            label = (
                f"product: {category or '(no category)'}" if product is not None else (page or "(unknown)")
            )
            if not pages or pages[-1] != label:
                pages.append(label)
        if pages:
            steps = ([*pages, "", ""])[:3]
            paths[(day, device, country, channel, *steps, "sessions")] += 1
            paths[(day, device, country, channel, *steps, "purchase_sessions")] += bought
    return {
        "retention": +retention,
        "searches": +searches,
        "paths": +paths,
    }


def stored(conn: psycopg.Connection[Any]) -> dict[str, Counter[Any]]:
    retention = Counter({row[:-1]: row[-1] for row in conn.execute("select * from agg_retention").fetchall()})
    every_slice: Counter[Any] = Counter()
    for (kind, cohort, _device, _country, _channel, week), n in retention.items():
        every_slice[(kind, cohort, week)] += n
    summed = Counter(
        {row[:-1]: row[-1] for row in conn.execute("select * from agg_retention_all").fetchall()}
    )
    assert summed == every_slice  # agg_retention_all is agg_retention summed over the slices
    searches: Counter[Any] = Counter()
    names = ("searches", "no_results", "product_views", "purchases", "exits", "searched_again")
    for row in conn.execute("select * from agg_daily_searches").fetchall():
        for name, value in zip(names, row[5:], strict=True):
            searches[(*row[:5], name)] = value
    paths: Counter[Any] = Counter()
    for row in conn.execute("select * from agg_daily_paths").fetchall():
        paths[(*row[:7], "sessions")] = row[7]
        paths[(*row[:7], "purchase_sessions")] = row[8]
    # the _all tables are the sliced ones summed over the slices
    every_slice = Counter()
    for (day, _device, _country, _channel, query, name), n in searches.items():
        every_slice[(day, query, name)] += n
    summed = Counter()
    for row in conn.execute("select * from agg_daily_searches_all").fetchall():
        for name, value in zip(names, row[2:], strict=True):
            summed[(*row[:2], name)] = value
    assert +summed == +every_slice
    every_slice, summed = Counter(), Counter()
    for (day, _device, _country, _channel, *steps, name), n in paths.items():
        every_slice[(day, *steps, name)] += n
    for row in conn.execute("select * from agg_daily_paths_all").fetchall():
        summed[(*row[:4], "sessions")] = row[4]
        summed[(*row[:4], "purchase_sessions")] = row[5]
    assert +summed == +every_slice
    return {"retention": +retention, "searches": +searches, "paths": +paths}


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_analyses_equal_an_independent_reference_after_random_batches(
    database_url: str, lake: Lake, stager: Stager, seed: int
) -> None:
    events = random_events(seed)
    rng = random.Random(seed)
    rng.shuffle(events)
    runs = Runs(database_url, lake, stager)
    cuts = sorted(rng.sample(range(1, len(events)), 4))
    for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True):
        runs.run(events[a:b])
        with psycopg.connect(database_url) as conn:
            incremental = stored(conn)
            with conn.transaction(force_rollback=True):
                conn.execute("select rebuild_analyses()")
                assert stored(conn) == incremental
    with psycopg.connect(database_url) as conn:
        assert reference.compare(conn) == []
        want, got = expected(conn), stored(conn)
    assert want["searches"] and want["paths"] and want["retention"]
    assert got == want
