"""A small, hand-countable warehouse for the dashboard tests: eight sessions over two days.

The sessions are written as the sessionizer writes them (fact_sessions,
fact_session_revenue) together with the daily aggregates derived from the
same events (agg_daily_*), dim_product and some pipeline bookkeeping
(etl_runs, etl_watermark, etl_processed_objects, etl_rejects). The numbers
the tests expect are counted by hand from the table below, not recomputed.

    day        session  visitor  start  dur   device   country  channel         events
    2025-10-13 s6       B        09:00  40 s  mobile   DE       Organic Search  view, view LAP
    2025-10-13 s8       A        12:00  200 s desktop  US       Direct          view LAP, view MOU, cart MOU,
                                                                               checkout, buy MOU x2
    2025-10-13 s7       E        19:00  8 s   desktop  GB       Direct          view MON
    2025-10-14 s1       A        10:05  300 s desktop  US       Direct          view, view LAP, cart LAP,
                                                                               view, checkout, buy LAP x1
    2025-10-14 s2       B        10:40  5 s   mobile   DE       Organic Search  view
    2025-10-14 s3       C        20:10  125 s mobile   US       Paid Search     view MOU, view KEY, cart MOU
    2025-10-14 s5       D        20:30  0 s   tablet   (none)   Referral        view MON
    2025-10-14 s4       A        21:00  60 s  desktop  US       Email           view KEY, cart KEY, view MON,
                                                                               view MOU, cart MOU, checkout,
                                                                               buy KEY x2, buy MOU x1

Browser / OS (of each session's first event): s6 and s2 Chrome Mobile / Android, s8, s1 and s4
Chrome / Windows, s7 Safari / Mac OS X, s3 Mobile Safari / iOS, s5 unknown (no user agent).

Products: LAP-100 laptops $1,000.00, MOU-200 mice $25.00, KEY-300 keyboards
EUR 80.00, MON-400 monitors $300.00 (viewed, never bought).

Orders (DESIGN.md "Order"): each purchasing session's purchase lines are one order (one
props.order_id), in the currency of its first line: s8 one USD order (one line), s1 one USD order
(one line), s4 one EUR order of two lines (KEY in EUR first, then MOU in USD, whose line, units and
revenue count in USD).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

D1 = date(2025, 10, 13)  # a Monday
D2 = date(2025, 10, 14)

PRODUCTS = {
    "LAP-100": ("laptops", Decimal("1000.00"), "USD"),
    "MOU-200": ("mice", Decimal("25.00"), "USD"),
    "KEY-300": ("keyboards", Decimal("80.00"), "EUR"),
    "MON-400": ("monitors", Decimal("300.00"), "USD"),
}
# the names the tracker sent (ecom.name, dim_product.product_name); MON-400's events carried none
PRODUCT_NAMES = {
    "LAP-100": "Dell XPS 13 9340, 16GB RAM, 512GB SSD",
    "MOU-200": "Logitech MX Master 3S Wireless Mouse",
    "KEY-300": "Keychron K2 Pro Mechanical Keyboard",
}


@dataclass(frozen=True)
class SampleSession:
    name: str
    visitor: str
    start: datetime
    duration_s: float
    device: str
    country: str | None
    channel: str
    events: tuple[tuple[str, str | None, int], ...]  # (event_type, product_id, qty)
    referrer_host: str | None = None
    utm: tuple[str, str, str] | None = None  # campaign, source, medium
    agent: tuple[str, str] | None = None  # (browser, os) of its first event; None when unknown

    @property
    def session_id(self) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"sample/{self.name}")

    @property
    def page_views(self) -> int:
        return sum(1 for kind, _, _ in self.events if kind == "view")

    @property
    def funnel_step(self) -> int:
        steps = ("view", "add_to_cart", "checkout", "purchase")
        reached = 0
        for kind, _, _ in self.events:
            if reached < 4 and kind == steps[reached]:
                reached += 1
        return reached

    @property
    def has_purchase(self) -> bool:
        return any(kind == "purchase" for kind, _, _ in self.events)

    @property
    def is_engaged(self) -> bool:
        return self.duration_s > 10 or self.page_views >= 2 or self.has_purchase


def _at(day: date, hh: int, mm: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC)


SESSIONS = (
    SampleSession(
        "s6", "B", _at(D1, 9, 0), 40, "mobile", "DE", "Organic Search",
        (("view", None, 1), ("view", "LAP-100", 1)),
        referrer_host="www.google.com", agent=("Chrome Mobile", "Android"),
    ),
    SampleSession(
        "s8", "A", _at(D1, 12, 0), 200, "desktop", "US", "Direct",
        (("view", "LAP-100", 1), ("view", "MOU-200", 1), ("add_to_cart", "MOU-200", 2),
         ("checkout", None, 1), ("purchase", "MOU-200", 2)),
        agent=("Chrome", "Windows"),
    ),
    SampleSession(
        "s7", "E", _at(D1, 19, 0), 8, "desktop", "GB", "Direct", (("view", "MON-400", 1),),
        agent=("Safari", "Mac OS X"),
    ),
    SampleSession(
        "s1", "A", _at(D2, 10, 5), 300, "desktop", "US", "Direct",
        (("view", None, 1), ("view", "LAP-100", 1), ("add_to_cart", "LAP-100", 1), ("view", None, 1),
         ("checkout", None, 1), ("purchase", "LAP-100", 1)),
        agent=("Chrome", "Windows"),
    ),
    SampleSession(
        "s2", "B", _at(D2, 10, 40), 5, "mobile", "DE", "Organic Search", (("view", None, 1),),
        referrer_host="www.google.com", agent=("Chrome Mobile", "Android"),
    ),
    SampleSession(
        "s3", "C", _at(D2, 20, 10), 125, "mobile", "US", "Paid Search",
        (("view", "MOU-200", 1), ("view", "KEY-300", 1), ("add_to_cart", "MOU-200", 1)),
        referrer_host="www.google.com", utm=("autumn_sale", "google", "cpc"),
        agent=("Mobile Safari", "iOS"),
    ),
    SampleSession(
        "s5", "D", _at(D2, 20, 30), 0, "tablet", None, "Referral", (("view", "MON-400", 1),),
        referrer_host="techblog.example",
    ),
    SampleSession(
        "s4", "A", _at(D2, 21, 0), 60, "desktop", "US", "Email",
        (("view", "KEY-300", 1), ("add_to_cart", "KEY-300", 2), ("view", "MON-400", 1),
         ("view", "MOU-200", 1), ("add_to_cart", "MOU-200", 1), ("checkout", None, 1),
         ("purchase", "KEY-300", 2), ("purchase", "MOU-200", 1)),
        utm=("newsletter_oct", "newsletter", "email"), agent=("Chrome", "Windows"),
    ),
)  # fmt: skip


def _session_rows() -> list[dict[str, Any]]:
    rows = []
    for s in SESSIONS:
        rows.append(
            {
                "session_id": s.session_id,
                "anonymous_id": s.visitor,
                "session_start": s.start,
                "session_end": s.start + timedelta(seconds=s.duration_s),
                "session_date": s.start.date(),
                "start_hour": s.start.hour,
                "duration_s": float(s.duration_s),
                "count_events": len(s.events),
                "count_page_views": s.page_views,
                "entry_page": "/",
                "exit_page": "/",
                "landing_referrer": f"https://{s.referrer_host}/" if s.referrer_host else None,
                "landing_referrer_host": s.referrer_host,
                "channel": s.channel,
                "utm_source": s.utm[1] if s.utm else None,
                "utm_medium": s.utm[2] if s.utm else None,
                "utm_campaign": s.utm[0] if s.utm else None,
                "device_type": s.device,
                "country": s.country,
                "reached_cart": any(k == "add_to_cart" for k, _, _ in s.events),
                "reached_checkout": any(k == "checkout" for k, _, _ in s.events),
                "reached_purchase": s.has_purchase,
                "funnel_step": s.funnel_step,
                "count_purchases": sum(1 for k, _, _ in s.events if k == "purchase"),
                "is_engaged": s.is_engaged,
                "browser": s.agent[0] if s.agent else None,
                "os": s.agent[1] if s.agent else None,
            }
        )
    return rows


def _insert(cur: psycopg.Cursor[Any], table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    # Table and column names are this module's constants; values are parameters.
    statement = (
        f"insert into {table} ({', '.join(columns)}) values ({', '.join('%(' + c + ')s' for c in columns)})"
    )
    cur.executemany(statement.encode(), rows)


def write_sample(database_url: str) -> None:
    """Fill a freshly migrated database with the sample (and nothing else)."""
    sessions = _session_rows()
    revenue: list[dict[str, Any]] = []
    agg_sessions: dict[tuple[Any, ...], dict[str, Any]] = {}
    agg_revenue: dict[tuple[Any, ...], dict[str, Any]] = {}
    agg_visitors: dict[tuple[Any, ...], dict[str, Any]] = {}
    agg_products: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(dict)
    for s in SESSIONS:
        day, country = s.start.date(), s.country or ""
        key = (day, s.start.hour, s.device, country, s.channel)
        row = agg_sessions.setdefault(
            key,
            dict(zip(("session_date", "start_hour", "device_type", "country", "channel"), key, strict=True))
            | {
                "count_sessions": 0,
                "count_engaged_sessions": 0,
                "count_page_views": 0,
                "count_events": 0,
                "sum_duration_s": 0.0,
                "count_funnel_view": 0,
                "count_funnel_cart": 0,
                "count_funnel_checkout": 0,
                "count_funnel_purchase": 0,
            },
        )
        row["count_sessions"] += 1
        row["count_engaged_sessions"] += int(s.is_engaged)
        row["count_page_views"] += s.page_views
        row["count_events"] += len(s.events)
        row["sum_duration_s"] += float(s.duration_s)
        for step, column in enumerate(("view", "cart", "checkout", "purchase"), start=1):
            row[f"count_funnel_{column}"] += int(s.funnel_step >= step)

        visitor_key = (day, s.visitor, s.device, country, s.channel)
        visitor = agg_visitors.setdefault(
            visitor_key,
            dict(
                zip(
                    ("activity_date", "anonymous_id", "device_type", "country", "channel"),
                    visitor_key,
                    strict=True,
                )
            )
            | {"count_events": 0, "count_page_views": 0},
        )
        visitor["count_events"] += len(s.events)
        visitor["count_page_views"] += s.page_views

        by_currency: dict[str, dict[str, Any]] = {}
        for kind, product_id, qty in s.events:
            if product_id is None:
                continue
            _, price, currency = PRODUCTS[product_id]
            pkey = (day, product_id, s.visitor, s.device, country, s.channel, currency)
            prow = agg_products[pkey] or dict(
                zip(
                    (
                        "event_date",
                        "product_id",
                        "anonymous_id",
                        "device_type",
                        "country",
                        "channel",
                        "currency",
                    ),
                    pkey,
                    strict=True,
                )
            ) | {
                "count_views": 0,
                "count_add_to_carts": 0,
                "count_purchases": 0,
                "units": 0,
                "revenue": Decimal("0.00"),
            }
            agg_products[pkey] = prow
            if kind == "view":
                prow["count_views"] += 1
            elif kind == "add_to_cart":
                prow["count_add_to_carts"] += 1
            elif kind == "purchase":
                prow["count_purchases"] += 1
                prow["units"] += qty
                prow["revenue"] += price * qty
                money = by_currency.setdefault(
                    currency,
                    {
                        "session_id": s.session_id,
                        "currency": currency,
                        "orders": 0,
                        "lines": 0,
                        "units": 0,
                        "revenue": Decimal("0"),
                    },
                )
                is_first_line = not any(m["lines"] for m in by_currency.values())  # of the session's order
                money["orders"] += int(is_first_line)
                money["lines"] += 1
                money["units"] += qty
                money["revenue"] += price * qty
        revenue.extend(by_currency.values())
        for currency, money in by_currency.items():
            rkey = (day, s.device, country, s.channel, currency)
            rrow = agg_revenue.setdefault(
                rkey,
                dict(
                    zip(("session_date", "device_type", "country", "channel", "currency"), rkey, strict=True)
                )
                | {
                    "count_purchasing_sessions": 0,
                    "orders": 0,
                    "lines": 0,
                    "units": 0,
                    "revenue": Decimal("0"),
                },
            )
            rrow["count_purchasing_sessions"] += 1
            rrow["orders"] += money["orders"]
            rrow["lines"] += money["lines"]
            rrow["units"] += money["units"]
            rrow["revenue"] += money["revenue"]

    first_seen = datetime(2025, 10, 13, tzinfo=UTC)
    products = [
        {
            "product_id": product_id,
            "category": category,
            "last_price": price,
            "currency": currency,
            "first_seen_at": first_seen,
            "last_seen_at": first_seen + timedelta(days=1),
            "product_name": PRODUCT_NAMES.get(product_id),
        }
        for product_id, (category, price, currency) in PRODUCTS.items()
    ]
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        _insert(cur, "fact_sessions", sessions)
        _insert(cur, "fact_session_revenue", revenue)
        _insert(cur, "agg_daily_sessions", list(agg_sessions.values()))
        _insert(cur, "agg_daily_revenue", list(agg_revenue.values()))
        _insert(cur, "agg_daily_visitors", list(agg_visitors.values()))
        _insert(cur, "agg_daily_product_visitors", list(agg_products.values()))
        _insert(cur, "dim_product", products)
        cur.execute("select rebuild_dashboard_rollups()")  # sql/005's tables, from the aggregates above
        write_pipeline_rows(cur)


def write_pipeline_rows(cur: psycopg.Cursor[Any]) -> None:
    """Three runs on 2025-10-14, their objects and rejects, and the watermark at 21:00."""
    runs = []
    for hour, loaded in ((10, 10), (20, 4), (21, 9)):
        at = _at(D2, hour, 0)
        runs.append(
            {
                "execution_name": f"hour-2025-10-14T{hour:02d}",
                "hour": at,
                "status": "SUCCEEDED",
                "objects": 1,
                "lines_read": loaded + 3,
                "loaded": loaded,
                "duplicates": 1,
                "rejected": 2,
                "started_at": at + timedelta(hours=1, seconds=5),
                "upserted_at": at + timedelta(hours=1, seconds=9),
                "finished_at": at + timedelta(hours=1, seconds=10),
            }
        )
    _insert(cur, "etl_runs", runs)
    objects = [
        {
            "object_key": f"raw/year=2025/month=10/day=14/hour={r['hour'].hour:02d}/events-{i}.ndjson.gz",
            "etag": f"etag-{i}",
            "size_bytes": 1000,
            "partition_hour": r["hour"],
            "execution_name": r["execution_name"],
            "lines_read": r["lines_read"],
            "loaded": r["loaded"],
            "duplicates": r["duplicates"],
            "rejected": r["rejected"],
        }
        for i, r in enumerate(runs)
    ]
    _insert(cur, "etl_processed_objects", objects)
    # reasons: malformed 4 lines (two objects), violation 2 lines (one object)
    rejects = [
        {"object_key": objects[0]["object_key"], "reason": "malformed", "count_lines": 2},
        {"object_key": objects[1]["object_key"], "reason": "violation", "count_lines": 2},
        {"object_key": objects[2]["object_key"], "reason": "malformed", "count_lines": 2},
    ]
    for reject in rejects:
        reject["partition_hour"] = next(
            o["partition_hour"] for o in objects if o["object_key"] == reject["object_key"]
        )
    _insert(cur, "etl_rejects", rejects)
    _insert(
        cur,
        "etl_watermark",
        [
            {
                "watermark_hour": _at(D2, 21, 0),
                "execution_name": "hour-2025-10-14T21",
                "updated_at": _at(D2, 22, 0) + timedelta(seconds=10),
            }
        ],
    )
