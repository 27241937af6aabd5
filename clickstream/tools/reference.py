"""The from-scratch batch the warehouse must always equal (DESIGN.md "Exactly once, whatever happens").

Reads every row of fact_events, sessionizes them in plain Python and computes
fact_sessions, fact_session_revenue, every daily aggregate table (sql/003 and 005) and each
event's session id; ``diff`` compares that with what the warehouse holds, row
for row. It is written from the definitions in DESIGN.md and the column
comments of sql/003, separately from the incremental SQL in
clickstream/pipeline/sessionize.py, and shares no code with it: a mistake would have to
be made twice, in two languages, to go unnoticed.

    from clickstream.tools import reference
    problems = reference.compare(conn)   # [] when the warehouse is exact

Meant for tests and checks on small warehouses: it holds every event in memory.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

# DESIGN.md: no gap over 30 minutes; an id derived from visitor and start time.
GAP = timedelta(minutes=30)
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://clickstream.local/session")
FUNNEL = ("view", "add_to_cart", "checkout", "purchase")
PRODUCT_EVENTS = ("view", "add_to_cart", "purchase")
FLOAT_TOLERANCE = 1e-6  # seconds, absolute; relative 1e-9


@dataclass(frozen=True, slots=True)
class Event:
    event_id: uuid.UUID
    anonymous_id: str
    ts: datetime
    event_date: date
    event_type: str
    user_hash: str | None
    page_path: str | None
    referrer: str | None
    referrer_host: str | None
    channel: str
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    device_type: str
    country: str | None
    product_id: str | None
    category: str | None
    currency: str | None
    qty: int | None
    revenue: Decimal | None
    order_id: str | None  # DESIGN.md "Order": a purchase's props.order_id, trimmed; None if absent or empty
    item_list: dict[str, Any] | None  # props.item_list: the contract's item_list (sql/011)
    browser: str | None
    os: str | None


EVENT_COLUMNS = tuple(Event.__dataclass_fields__)
# what read_events selects for each field: a column of fact_events, or an expression
EVENT_SELECT = {
    "order_id": "props ->> 'order_id' as order_id",
    "item_list": "props -> 'item_list' as item_list",
}

SESSION_COUNTS = (
    "count_sessions",
    "count_engaged_sessions",
    "count_page_views",
    "count_events",
    "sum_duration_s",
    "count_funnel_view",
    "count_funnel_cart",
    "count_funnel_checkout",
    "count_funnel_purchase",
)
LANDING_KEY = (
    "session_date",
    "device_type",
    "country",
    "channel",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)
TECH_KEY = ("session_date", "device_type", "country", "channel", "browser", "os")

# table -> (key columns, value columns), as the warehouse stores them
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fact_sessions": (
        ("session_id",),
        (
            "anonymous_id",
            "user_hash",
            "session_start",
            "session_end",
            "session_date",
            "start_hour",
            "duration_s",
            "count_events",
            "count_page_views",
            "entry_page",
            "exit_page",
            "landing_referrer",
            "landing_referrer_host",
            "channel",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "device_type",
            "country",
            "reached_cart",
            "reached_checkout",
            "reached_purchase",
            "funnel_step",
            "count_purchases",
            "is_engaged",
            "browser",
            "os",
        ),
    ),
    "fact_session_revenue": (("session_id", "currency"), ("orders", "lines", "units", "revenue")),
    "agg_daily_sessions": (
        ("session_date", "start_hour", "device_type", "country", "channel"),
        SESSION_COUNTS,
    ),
    "agg_daily_revenue": (
        ("session_date", "device_type", "country", "channel", "currency"),
        ("count_purchasing_sessions", "orders", "lines", "units", "revenue"),
    ),
    "agg_daily_visitors": (
        ("activity_date", "anonymous_id", "device_type", "country", "channel"),
        ("count_events", "count_page_views"),
    ),
    "agg_daily_product_visitors": (
        ("event_date", "anonymous_id", "product_id", "device_type", "country", "channel", "currency"),
        ("count_views", "count_add_to_carts", "count_purchases", "units", "revenue"),
    ),
    # sql/005: each visitor's chains of days, their gaps counted by day, products summed by day
    "visitor_activity_days": (("anonymous_id", "kind", "item", "activity_date"), ("gap_days",)),
    "agg_daily_visitor_gaps": (("kind", "activity_date", "item", "gap_days"), ("count_visitors",)),
    "visitor_category_products": (("product_id",), ("category",)),
    "agg_daily_products": (
        ("event_date", "product_id", "currency"),
        ("count_views", "count_add_to_carts", "count_purchases", "units", "revenue"),
    ),
    "agg_daily_slices": (("session_date", "device_type", "country", "channel"), SESSION_COUNTS),
    "agg_daily_segments": (("session_date", "segment_by", "segment"), SESSION_COUNTS),
    "agg_hourly_sessions": (("session_date", "start_hour"), ("count_sessions",)),
    "agg_daily_landings": (
        LANDING_KEY,
        ("count_sessions", "count_engaged_sessions", "count_purchase_sessions"),
    ),
    "agg_daily_landings_all": (
        ("session_date", "channel", "referrer_host", "utm_source", "utm_medium", "utm_campaign"),
        ("count_sessions", "count_engaged_sessions", "count_purchase_sessions"),
    ),
    "agg_daily_landing_revenue": ((*LANDING_KEY, "currency"), ("revenue",)),
    # sql/014: sessions and revenue by the session's browser and OS too ('' when unknown)
    "agg_daily_tech": (TECH_KEY, SESSION_COUNTS),
    "agg_daily_tech_revenue": (
        (*TECH_KEY, "currency"),
        ("count_purchasing_sessions", "orders", "units", "revenue"),
    ),
    # sql/011: product list impressions and list clicks, by the slice of each event's session
    "agg_daily_product_list_slices": (
        ("event_date", "product_id", "device_type", "country", "channel"),
        ("count_impressions", "count_list_clicks"),
    ),
    "agg_daily_product_lists": (("event_date", "product_id"), ("count_impressions", "count_list_clicks")),
    # not a table: fact_events.session_id of every event
    "event_sessions": (("event_id",), ("session_id",)),
}
FLOAT_COLUMNS = {"duration_s", "sum_duration_s"}

Rows = dict[tuple[Any, ...], tuple[Any, ...]]


# ----------------------------------------------------------------- reading


def read_events(conn: psycopg.Connection[Any]) -> list[Event]:
    columns = ", ".join(EVENT_SELECT.get(column, column) for column in EVENT_COLUMNS)
    rows = conn.execute(f"select {columns} from fact_events").fetchall()
    return [_event(row) for row in rows]


def _event(row: tuple[Any, ...]) -> Event:
    event = Event(*row)
    order_id = (event.order_id or "").strip(" ") if event.event_type == "purchase" else ""
    return replace(event, order_id=order_id or None)


def read_warehouse(conn: psycopg.Connection[Any]) -> dict[str, Rows]:
    """Every table of TABLES as {key: values}."""
    out: dict[str, Rows] = {}
    for table, (keys, values) in TABLES.items():
        source = "fact_events" if table == "event_sessions" else table
        rows = conn.execute(f"select {', '.join(keys + values)} from {source}").fetchall()
        out[table] = {tuple(r[: len(keys)]): tuple(r[len(keys) :]) for r in rows}
    return out


# ----------------------------------------------------------------- the batch


def session_id(anonymous_id: str, start: datetime) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, anonymous_id + "|" + start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def split_sessions(events: Iterable[Event]) -> list[list[Event]]:
    """Every visitor's events in (ts, event_id) order, cut where a gap exceeds 30 minutes."""
    by_visitor: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_visitor[event.anonymous_id].append(event)
    sessions: list[list[Event]] = []
    for visitor_events in by_visitor.values():
        visitor_events.sort(key=lambda e: (e.ts, e.event_id))
        current = [visitor_events[0]]
        for event in visitor_events[1:]:
            if event.ts - current[-1].ts > GAP:
                sessions.append(current)
                current = []
            current.append(event)
        sessions.append(current)
    return sessions


def session_counts(session: dict[str, Any]) -> tuple[Any, ...]:
    """What one session (a fact_sessions row by column) adds to each of SESSION_COUNTS."""
    step = session["funnel_step"]
    return (
        1,
        int(session["is_engaged"]),
        session["count_page_views"],
        session["count_events"],
        session["duration_s"],
        int(step >= 1),
        int(step >= 2),
        int(step >= 3),
        int(step == 4),
    )


def funnel_step(events: list[Event]) -> int:
    step = 0
    for event in events:
        if step < len(FUNNEL) and event.event_type == FUNNEL[step]:
            step += 1
    return step


def session_row(events: list[Event]) -> tuple[Any, ...]:
    first, last = events[0], events[-1]
    start = first.ts.astimezone(UTC)
    duration = (last.ts - first.ts).total_seconds()
    types = [e.event_type for e in events]
    views = types.count("view")
    purchases = types.count("purchase")
    user_hashes = [e.user_hash for e in events if e.user_hash is not None]
    return (
        first.anonymous_id,
        user_hashes[-1] if user_hashes else None,
        first.ts,
        last.ts,
        start.date(),
        start.hour,
        duration,
        len(events),
        views,
        first.page_path,
        last.page_path,
        first.referrer,
        first.referrer_host,
        first.channel,
        first.utm_source,
        first.utm_medium,
        first.utm_campaign,
        first.device_type,
        first.country,
        "add_to_cart" in types,
        "checkout" in types,
        "purchase" in types,
        funnel_step(events),
        purchases,
        duration > 10 or views >= 2 or purchases > 0,
        first.browser,
        first.os,
    )


def build(events: list[Event]) -> dict[str, Rows]:
    """Every table of TABLES, computed from the events alone."""
    out: dict[str, Rows] = {table: {} for table in TABLES}
    sessions, revenue = out["fact_sessions"], out["fact_session_revenue"]
    event_sessions = out["event_sessions"]
    slice_of: dict[uuid.UUID, tuple[str, str, str]] = {}  # session -> (device_type, country, channel)
    for group in split_sessions(events) if events else []:
        sid = session_id(group[0].anonymous_id, group[0].ts)
        row = session_row(group)
        sessions[(sid,)] = row
        slice_of[sid] = (group[0].device_type, group[0].country or "", group[0].channel)
        for event in group:
            event_sessions[(event.event_id,)] = (sid,)
        # DESIGN.md "Order": an order per distinct order_id (a purchase without one is an order of
        # its own), in the currency of its first line; lines are the purchase events
        per_currency: dict[str, list[Any]] = {}
        seen_orders: set[str] = set()
        for event in group:  # in (ts, event_id) order
            if event.event_type == "purchase":
                totals = per_currency.setdefault(event.currency or "", [0, 0, 0, Decimal(0)])
                if event.order_id is None or event.order_id not in seen_orders:
                    totals[0] += 1
                if event.order_id is not None:
                    seen_orders.add(event.order_id)
                totals[1] += 1
                totals[2] += event.qty or 0
                totals[3] += event.revenue or Decimal(0)
        for currency, (orders, lines, units, amount) in per_currency.items():
            revenue[(sid, currency)] = (orders, lines, units, amount)

    daily_sessions: dict[tuple[Any, ...], list[Any]] = {}
    for (sid,), row in sessions.items():
        values = dict(zip(TABLES["fact_sessions"][1], row, strict=True))
        key = (values["session_date"], values["start_hour"], *slice_of[sid])
        totals = daily_sessions.setdefault(key, [0, 0, 0, 0, 0.0, 0, 0, 0, 0])
        for i, add in enumerate(session_counts(values)):
            totals[i] += add
    out["agg_daily_sessions"] = {k: tuple(v) for k, v in daily_sessions.items()}

    # sql/005: the same without the hour, by hour without the slice, and by landing
    slices: dict[tuple[Any, ...], list[Any]] = {}
    hours: dict[tuple[Any, ...], list[Any]] = {}
    for (day, hour, *slice_key), counts in daily_sessions.items():
        totals = slices.setdefault((day, *slice_key), [0, 0, 0, 0, 0.0, 0, 0, 0, 0])
        for i, add in enumerate(counts):
            totals[i] += add
        hours.setdefault((day, hour), [0])[0] += counts[0]
    out["agg_daily_slices"] = {k: tuple(v) for k, v in slices.items()}
    segments: dict[tuple[Any, ...], list[Any]] = {}
    for (day, device, country, channel), counts in slices.items():
        for segment_by, segment in (("", ""), ("device", device), ("channel", channel), ("country", country)):
            totals = segments.setdefault((day, segment_by, segment), [0, 0, 0, 0, 0.0, 0, 0, 0, 0])
            for i, add in enumerate(counts):
                totals[i] += add
    # sql/014: the same sessions by browser and OS, and agg_daily_segments' 'browser' and 'os'
    tech: dict[tuple[Any, ...], list[Any]] = {}
    for (sid,), row in sessions.items():
        values = dict(zip(TABLES["fact_sessions"][1], row, strict=True))
        browser, os = values["browser"] or "", values["os"] or ""
        added = session_counts(values)
        day = values["session_date"]
        keyed: tuple[tuple[tuple[Any, ...], dict[tuple[Any, ...], list[Any]]], ...] = (
            ((day, *slice_of[sid], browser, os), tech),
            ((day, "browser", browser), segments),
            ((day, "os", os), segments),
        )
        for tech_key, table in keyed:
            totals = table.setdefault(tech_key, [0, 0, 0, 0, 0.0, 0, 0, 0, 0])
            for i, add in enumerate(added):
                totals[i] += add
    out["agg_daily_tech"] = {k: tuple(v) for k, v in tech.items()}
    out["agg_daily_segments"] = {k: tuple(v) for k, v in segments.items()}
    out["agg_hourly_sessions"] = {k: tuple(v) for k, v in hours.items()}

    landing_of: dict[uuid.UUID, tuple[Any, ...]] = {}
    landings: dict[tuple[Any, ...], list[int]] = {}
    for (sid,), row in sessions.items():
        values = dict(zip(TABLES["fact_sessions"][1], row, strict=True))
        landing_of[sid] = (
            values["session_date"],
            *slice_of[sid],
            values["landing_referrer_host"] or "",
            values["utm_source"],
            values["utm_medium"],
            values["utm_campaign"],
        )
        totals = landings.setdefault(landing_of[sid], [0, 0, 0])
        totals[0] += 1
        totals[1] += int(values["is_engaged"])
        totals[2] += int(values["funnel_step"] == 4)
    out["agg_daily_landings"] = {k: tuple(v) for k, v in landings.items()}
    landings_all: dict[tuple[Any, ...], list[int]] = {}
    for (day, _device, _country, channel, *tags), counts in landings.items():
        totals = landings_all.setdefault((day, channel, *tags), [0, 0, 0])
        for i, add in enumerate(counts):
            totals[i] += add
    out["agg_daily_landings_all"] = {k: tuple(v) for k, v in landings_all.items()}
    landing_revenue: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
    for (sid, currency), (_orders, _lines, _units, amount) in revenue.items():
        landing_revenue[(*landing_of[sid], currency)] += amount
    out["agg_daily_landing_revenue"] = {k: (v,) for k, v in landing_revenue.items()}

    daily_revenue: dict[tuple[Any, ...], list[Any]] = {}
    for (sid, currency), (orders, lines, units, amount) in revenue.items():
        session_date = sessions[(sid,)][4]
        totals = daily_revenue.setdefault((session_date, *slice_of[sid], currency), [0, 0, 0, 0, Decimal(0)])
        totals[0] += 1
        totals[1] += orders
        totals[2] += lines
        totals[3] += units
        totals[4] += amount
    out["agg_daily_revenue"] = {k: tuple(v) for k, v in daily_revenue.items()}
    tech_revenue: dict[tuple[Any, ...], list[Any]] = {}
    for (sid, currency), (orders, _lines, units, amount) in revenue.items():
        values = dict(zip(TABLES["fact_sessions"][1], sessions[(sid,)], strict=True))
        tech_key = (
            values["session_date"],
            *slice_of[sid],
            values["browser"] or "",
            values["os"] or "",
            currency,
        )
        totals = tech_revenue.setdefault(tech_key, [0, 0, 0, Decimal(0)])
        totals[0] += 1
        totals[1] += orders
        totals[2] += units
        totals[3] += amount
    out["agg_daily_tech_revenue"] = {k: tuple(v) for k, v in tech_revenue.items()}

    visitors: dict[tuple[Any, ...], list[int]] = {}
    products: dict[tuple[Any, ...], list[Any]] = {}
    for event in events:
        device, country, channel = slice_of[event_sessions[(event.event_id,)][0]]
        counts = visitors.setdefault((event.event_date, event.anonymous_id, device, country, channel), [0, 0])
        counts[0] += 1
        counts[1] += event.event_type == "view"
        if event.product_id is not None and event.event_type in PRODUCT_EVENTS:
            product_key = (
                event.event_date,
                event.anonymous_id,
                event.product_id,
                device,
                country,
                channel,
                event.currency or "",
            )
            totals = products.setdefault(product_key, [0, 0, 0, 0, Decimal(0)])
            totals[0] += event.event_type == "view"
            totals[1] += event.event_type == "add_to_cart"
            if event.event_type == "purchase":
                totals[2] += 1
                totals[3] += event.qty or 0
                totals[4] += event.revenue or Decimal(0)
    out["agg_daily_visitors"] = {k: tuple(v) for k, v in visitors.items()}
    out["agg_daily_product_visitors"] = {k: tuple(v) for k, v in products.items()}

    # sql/005: a product's category is that of its newest event (dim_product's); a visitor's
    # days of each kind ('event': any event; 'view', 'add_to_cart', 'purchase' of a product,
    # 'any_' those of any product, 'category_' those of a product of the category), each with
    # the days since the previous one (0 on the first)
    newest: dict[str, Event] = {}
    for event in events:
        if event.product_id is not None:
            seen = newest.get(event.product_id)
            if seen is None or (event.ts, event.event_id) > (seen.ts, seen.event_id):
                newest[event.product_id] = event
    category_of = {product: event.category or "" for product, event in newest.items()}
    out["visitor_category_products"] = {(product,): (category,) for product, category in category_of.items()}
    chains: dict[tuple[str, str, str], set[date]] = defaultdict(set)
    for event in events:
        chains[(event.anonymous_id, "event", "")].add(event.event_date)
        if event.product_id is not None and event.event_type in PRODUCT_EVENTS:
            chains[(event.anonymous_id, event.event_type, event.product_id)].add(event.event_date)
            chains[(event.anonymous_id, "any_" + event.event_type, "")].add(event.event_date)
            category = category_of[event.product_id]
            chains[(event.anonymous_id, "category_" + event.event_type, category)].add(event.event_date)
    activity_days: Rows = {}
    gaps: dict[tuple[Any, ...], int] = defaultdict(int)
    for (visitor, kind, item), days in chains.items():
        previous: date | None = None
        for day in sorted(days):
            gap = (day - previous).days if previous is not None else 0
            activity_days[(visitor, kind, item, day)] = (gap,)
            gaps[(kind, day, item, gap)] += 1
            previous = day
    out["visitor_activity_days"] = activity_days
    out["agg_daily_visitor_gaps"] = {k: (n,) for k, n in gaps.items()}

    daily_products: dict[tuple[Any, ...], list[Any]] = {}
    for (day, _visitor, product, _device, _country, _channel, currency), product_counts in products.items():
        day_totals = daily_products.setdefault((day, product, currency), [0, 0, 0, 0, Decimal(0)])
        for i, value in enumerate(product_counts):
            day_totals[i] += value
    out["agg_daily_products"] = {k: tuple(v) for k, v in daily_products.items()}

    # sql/011 (DESIGN.md "Product"): an impression counts once for each distinct product its
    # list showed; a click on a product (ecom) that names its list is a list click
    list_slices: dict[tuple[Any, ...], list[int]] = {}
    for event in events:
        listed = event.item_list if isinstance(event.item_list, dict) else None
        if listed is None:
            continue
        list_slice = slice_of[event_sessions[(event.event_id,)][0]]
        if event.event_type == "impression" and isinstance(listed.get("product_ids"), list):
            for product in set(listed["product_ids"]):
                list_slices.setdefault((event.event_date, str(product), *list_slice), [0, 0])[0] += 1
        elif event.event_type == "click" and event.product_id is not None:
            list_slices.setdefault((event.event_date, event.product_id, *list_slice), [0, 0])[1] += 1
    out["agg_daily_product_list_slices"] = {k: tuple(v) for k, v in list_slices.items()}
    list_days: dict[tuple[Any, ...], list[int]] = {}
    for (day, product, *_slice), (impressions, clicks) in list_slices.items():
        totals = list_days.setdefault((day, product), [0, 0])
        totals[0] += impressions
        totals[1] += clicks
    out["agg_daily_product_lists"] = {k: tuple(v) for k, v in list_days.items()}
    return out


# ----------------------------------------------------------------- comparing


def _same(column: str, expected: Any, actual: Any) -> bool:
    if column in FLOAT_COLUMNS and expected is not None and actual is not None:
        return math.isclose(float(expected), float(actual), rel_tol=1e-9, abs_tol=FLOAT_TOLERANCE)
    return bool(expected == actual)


def diff(expected: dict[str, Rows], actual: dict[str, Rows], limit: int = 10) -> list[str]:
    """Every difference, as readable lines (at most ``limit`` per table); [] when equal."""
    problems: list[str] = []
    for table, (_, columns) in TABLES.items():
        want, got = expected.get(table, {}), actual.get(table, {})
        found: list[str] = []
        for key in sorted(want.keys() - got.keys(), key=repr):
            found.append(f"{table}: missing {key}: {dict(zip(columns, want[key], strict=True))}")
        for key in sorted(got.keys() - want.keys(), key=repr):
            found.append(f"{table}: unexpected {key}: {dict(zip(columns, got[key], strict=True))}")
        for key in sorted(want.keys() & got.keys(), key=repr):
            for column, w, g in zip(columns, want[key], got[key], strict=True):
                if not _same(column, w, g):
                    found.append(f"{table} {key}: {column} should be {w!r}, is {g!r}")
        if len(found) > limit:
            found = [*found[:limit], f"{table}: ... {len(found) - limit} more differences"]
        problems.extend(found)
    return problems


def compare(conn: psycopg.Connection[Any]) -> list[str]:
    """The warehouse against the from-scratch batch over its own fact_events; [] when exact."""
    return diff(build(read_events(conn)), read_warehouse(conn))
