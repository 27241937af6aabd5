"""Every SQL statement the dashboards run, with psycopg 3 parameters only.

The analysis pages read the daily aggregate tables of sql/003 and sql/005
(keyed or indexed by the date first, so every query is an index range scan
over the selected dates): sessions from agg_daily_slices (by the hour from
agg_hourly_sessions, or agg_daily_sessions when a slice filter is set),
referrers and campaigns from agg_daily_landings. Distinct visitors over a
range come from sql/005's gaps between a visitor's days when no device,
country or channel filter is set (months are a few thousand rows), and from
the per-visitor aggregates otherwise. Each query serves one output, and
outputs that show the same number run the same query, so pages agree with
each other.

The global filters are the same four clauses everywhere:

    session_date between %(start)s and %(end)s
    and (%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
    ...

A filter left empty is passed as NULL and means "all". Unknown countries are
'' in the aggregates.

Every function takes a ``Database`` and returns a pandas DataFrame (or plain
values); headline queries return one row per period, ``current`` (the selected
dates) and ``previous`` (as many days just before).
"""

from __future__ import annotations

import decimal
import threading
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import psycopg

from clickstream.core.db import connect

STATEMENT_TIMEOUT = "60s"


# ----------------------------------------------------------------- filters and connections


@dataclass(frozen=True)
class Filters:
    """The sidebar: a date range (both ends included) and the slice filters (empty = all)."""

    start: date
    end: date
    devices: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous_start(self) -> date:
        return self.start - timedelta(days=self.days)

    @property
    def previous_end(self) -> date:
        return self.start - timedelta(days=1)

    @property
    def sliced(self) -> bool:
        """Whether a device, country or channel filter is set (else every slice counts)."""
        return bool(self.devices or self.countries or self.channels)

    def previous(self) -> Filters:
        """The comparison period: as many days, just before."""
        return replace(self, start=self.previous_start, end=self.previous_end)

    def params(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "prev_start": self.previous_start,
            "prev_end": self.previous_end,
            "mau_start": self.previous_start - timedelta(days=29),
            "devices": list(self.devices) or None,
            "countries": list(self.countries) or None,
            "channels": list(self.channels) or None,
        }


IDLE_CONNECTIONS = 4  # kept open per warehouse URL between statements (connecting costs ~5 ms)
_idle: dict[str, list[psycopg.Connection[Any]]] = {}
_idle_lock = threading.Lock()


class Database:
    """Runs one statement on a read-only connection and returns a DataFrame.

    Connections are autocommit (each statement is its own read-only transaction)
    and reused: a page render runs several statements, and opening a connection
    costs as much as reading a small aggregate. At most IDLE_CONNECTIONS stay
    open per URL; one that broke while idle (a server restart) is replaced once.
    """

    def __init__(self, url: str) -> None:
        self.url = url

    def _connect(self) -> psycopg.Connection[Any]:
        options = f"-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT}"
        conn = connect(self.url, application_name="clickstream-dashboards", options=options)
        conn.autocommit = True
        return conn

    def _run(self, query: str, params: dict[str, Any] | None) -> tuple[list[str], list[tuple[Any, ...]]]:
        for attempt in range(2):
            with _idle_lock:
                pooled = _idle.get(self.url, [])
                conn = pooled.pop() if pooled else None
            reused = conn is not None
            if conn is None or conn.closed:
                conn = self._connect()
            try:
                cursor = conn.execute(query, params)
                columns = [c.name for c in cursor.description or []]
                rows = cursor.fetchall()
            except psycopg.Error:
                broken = conn.broken
                conn.close()
                if broken and reused and attempt == 0:
                    continue
                raise
            with _idle_lock:
                pooled = _idle.setdefault(self.url, [])
                if len(pooled) < IDLE_CONNECTIONS:
                    pooled.append(conn)
                    conn = None
            if conn is not None:
                conn.close()
            return columns, rows
        raise AssertionError("unreachable")

    def records(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The rows as dicts of plain Python values (dates, datetimes, Decimals)."""
        columns, rows = self._run(query, params)
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def frame(self, query: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """The rows as a DataFrame; numeric columns become floats."""
        columns, rows = self._run(query, params)
        frame = pd.DataFrame(rows, columns=columns)
        for column in frame.columns:
            if frame[column].map(lambda v: isinstance(v, decimal.Decimal)).any():
                frame[column] = frame[column].astype(float)
        return frame


def by_period(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Rows keyed by their ``period`` column; a period without rows is missing."""
    return {row["period"]: row for row in frame.to_dict("records")}


# ----------------------------------------------------------------- filter choices


def data_bounds(db: Database) -> tuple[date | None, date | None]:
    """First and last session date in the warehouse (None, None when it is empty)."""
    (row,) = db.records(
        """
        select
            min(session_date) as first_date,
            max(session_date) as last_date
        from agg_daily_sessions
        """
    )
    return row["first_date"], row["last_date"]


def slice_values(db: Database, since: date) -> pd.DataFrame:
    """The device / country / channel combinations seen since a date (for the filter choices)."""
    return db.frame(
        """
        select
            device_type,
            country,
            channel
        from agg_daily_slices
        where session_date >= %(since)s
        group by device_type, country, channel
        """,
        {"since": since},
    )


# ----------------------------------------------------------------- traffic and engagement


def _session_rows(f: Filters, by: str | None = None) -> str:
    """Session counts by date and segment (device, channel or country; '' without ``by``), as a
    subquery: agg_daily_segments without slice filters (a few rows a day), else agg_daily_slices.

    ``by`` is one of SEGMENTS (checked by the callers), never user text.
    """
    if not f.sliced:
        return f"""(
            select *
            from agg_daily_segments
            where segment_by = '{by or ""}'
        ) as session_rows"""
    segment = (
        """
                case %(by)s
                    when 'device' then device_type
                    when 'channel' then channel
                    else country
                end"""
        if by
        else "''"
    )
    return f"""(
            select
                {segment} as segment,
                *
            from agg_daily_slices
            where (%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
                and (%(countries)s::text[] is null or country = any(%(countries)s::text[]))
                and (%(channels)s::text[] is null or channel = any(%(channels)s::text[]))
        ) as session_rows"""


def session_totals(db: Database, f: Filters) -> pd.DataFrame:
    """Per period: sessions, engagement, page views, duration and the funnel steps."""
    return db.frame(
        """
        select
            case when session_date >= %(start)s then 'current' else 'previous' end as period,
            sum(count_sessions)::bigint as sessions,
            sum(count_engaged_sessions)::bigint as engaged_sessions,
            sum(count_page_views)::bigint as page_views,
            sum(count_events)::bigint as events,
            sum(sum_duration_s) as sum_duration_s,
            sum(count_funnel_view)::bigint as funnel_view,
            sum(count_funnel_cart)::bigint as funnel_cart,
            sum(count_funnel_checkout)::bigint as funnel_checkout,
            sum(count_funnel_purchase)::bigint as funnel_purchase
        from {session_rows}
        where session_date between %(prev_start)s and %(end)s
        group by 1
        """.replace("{session_rows}", _session_rows(f)),
        f.params(),
    )


def visitor_totals(db: Database, f: Filters) -> pd.DataFrame:
    """Per period: distinct visitors with an event in it.

    Without slice filters from the gaps of sql/005 (a visitor counts on its first
    day in the period: the one whose previous day with an event is before it);
    with them, the distinct visitors of agg_daily_visitors in the selected slices.
    """
    if not f.sliced:
        return db.frame(
            """
            select
                'current' as period,
                sum(count_visitors)::bigint as visitors
            from agg_daily_visitor_gaps
            where kind = 'event'
                and activity_date between %(start)s and %(end)s
                and (gap_days = 0 or activity_date - gap_days < %(start)s)
            having count(*) > 0

            union all

            select
                'previous' as period,
                sum(count_visitors)::bigint as visitors
            from agg_daily_visitor_gaps
            where kind = 'event'
                and activity_date between %(prev_start)s and %(prev_end)s
                and (gap_days = 0 or activity_date - gap_days < %(prev_start)s)
            having count(*) > 0
            """,
            f.params(),
        )
    return db.frame(
        """
        select
            case when activity_date >= %(start)s then 'current' else 'previous' end as period,
            count(distinct anonymous_id collate "C")::bigint as visitors
        from agg_daily_visitors
        where activity_date between %(prev_start)s and %(end)s
            and (%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
            and (%(countries)s::text[] is null or country = any(%(countries)s::text[]))
            and (%(channels)s::text[] is null or channel = any(%(channels)s::text[]))
        group by 1
        """,
        f.params(),
    )


_ACTIVE_USERS_FROM_GAPS = """
with activity as (
    select
        activity_date,
        gap_days,
        count_visitors
    from agg_daily_visitor_gaps
    where kind = 'event'
        and activity_date between %(mau_start)s and %(end)s
),

-- visitors of the day whose previous active day is within 30 days are counted from 30 days after it
changes as (
    select
        case
            when gap_days = 0 or gap_days >= 30 then activity_date
            else activity_date - gap_days + 30
        end as day,
        count_visitors as delta
    from activity
    union all
    select
        activity_date + 30 as day,
        -count_visitors as delta
    from activity
),

daily_changes as (
    select
        day,
        sum(delta) as delta
    from changes
    group by day
),

days as (
    select day::date as day
    from generate_series(%(mau_start)s::date, %(end)s::date, interval '1 day') as day
),

mau as (
    select
        days.day,
        sum(coalesce(daily_changes.delta, 0)) over (order by days.day) as mau
    from days
    left join daily_changes on daily_changes.day = days.day
),

dau as (
    select
        activity_date as day,
        sum(count_visitors) as dau
    from activity
    group by activity_date
),

final as (
    select
        mau.day,
        coalesce(dau.dau, 0)::bigint as dau,
        mau.mau::bigint as mau
    from mau
    left join dau on dau.day = mau.day
    where mau.day >= %(prev_start)s
)

select * from final order by day
"""


def active_users_daily(db: Database, f: Filters) -> pd.DataFrame:
    """Per day of both periods: DAU and MAU (distinct visitors over the 30 days ending that day).

    MAU without a 30-fold self-join: each active day of a visitor covers the
    30 days from it; only the part not covered by that visitor's previous
    active day is counted (+1 where it starts, -1 where it ends), and MAU is
    the running sum of those changes. Without slice filters each visitor-day's
    previous active day comes with it (sql/005's gaps, counted by day and gap),
    so no visitor is read at all.
    """
    if not f.sliced:
        return db.frame(_ACTIVE_USERS_FROM_GAPS, f.params())
    return db.frame(
        """
        with activity as (
            select distinct
                activity_date,
                anonymous_id collate "C" as anonymous_id  -- bytewise: sorts and hashes much faster
            from agg_daily_visitors
            where activity_date between %(mau_start)s and %(end)s
                and (%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
                and (%(countries)s::text[] is null or country = any(%(countries)s::text[]))
                and (%(channels)s::text[] is null or channel = any(%(channels)s::text[]))
        ),

        coverage as (
            select
                greatest(
                    activity_date,
                    lag(activity_date) over (partition by anonymous_id order by activity_date) + 30
                ) as covered_from,
                activity_date + 30 as covered_until
            from activity
        ),

        changes as (
            select covered_from as day, 1 as delta from coverage
            union all
            select covered_until as day, -1 as delta from coverage
        ),

        daily_changes as (
            select
                day,
                sum(delta) as delta
            from changes
            group by day
        ),

        days as (
            select day::date as day
            from generate_series(%(mau_start)s::date, %(end)s::date, interval '1 day') as day
        ),

        mau as (
            select
                days.day,
                sum(coalesce(daily_changes.delta, 0)) over (order by days.day) as mau
            from days
            left join daily_changes on daily_changes.day = days.day
        ),

        dau as (
            select
                activity_date as day,
                count(*) as dau
            from activity
            group by activity_date
        ),

        final as (
            select
                mau.day,
                coalesce(dau.dau, 0)::bigint as dau,
                mau.mau::bigint as mau
            from mau
            left join dau on dau.day = mau.day
            where mau.day >= %(prev_start)s
        )

        select * from final order by day
        """,
        f.params(),
    )


def sessions_daily(db: Database, f: Filters) -> pd.DataFrame:
    """Per day of the selected dates: sessions, engaged sessions, page views, duration."""
    return db.frame(
        """
        with days as (
            select day::date as day
            from generate_series(%(start)s::date, %(end)s::date, interval '1 day') as day
        ),

        sessions as (
            select
                session_date as day,
                sum(count_sessions)::bigint as sessions,
                sum(count_engaged_sessions)::bigint as engaged_sessions,
                sum(count_page_views)::bigint as page_views,
                sum(sum_duration_s) as sum_duration_s
            from {session_rows}
            where session_date between %(start)s and %(end)s
            group by session_date
        ),

        final as (
            select
                days.day,
                coalesce(sessions.sessions, 0) as sessions,
                coalesce(sessions.engaged_sessions, 0) as engaged_sessions,
                coalesce(sessions.page_views, 0) as page_views,
                coalesce(sessions.sum_duration_s, 0) as sum_duration_s
            from days
            left join sessions on sessions.day = days.day
        )

        select * from final order by day
        """.replace("{session_rows}", _session_rows(f)),
        f.params(),
    )


def sessions_by_weekday_hour(db: Database, f: Filters) -> pd.DataFrame:
    """Sessions by ISO weekday (1 = Monday) and UTC start hour over the selected dates."""
    if not f.sliced:
        return db.frame(
            """
            select
                extract(isodow from session_date)::int as iso_dow,
                start_hour::int as start_hour,
                sum(count_sessions)::bigint as sessions
            from agg_hourly_sessions
            where session_date between %(start)s and %(end)s
            group by 1, 2
            order by 1, 2
            """,
            f.params(),
        )
    return db.frame(
        """
        select
            extract(isodow from session_date)::int as iso_dow,
            start_hour::int as start_hour,
            sum(count_sessions)::bigint as sessions
        from agg_daily_sessions
        where session_date between %(start)s and %(end)s
            and (%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
            and (%(countries)s::text[] is null or country = any(%(countries)s::text[]))
            and (%(channels)s::text[] is null or channel = any(%(channels)s::text[]))
        group by 1, 2
        order by 1, 2
        """,
        f.params(),
    )


# ----------------------------------------------------------------- funnel


SEGMENTS = {"device": "Device", "channel": "Channel", "country": "Country"}


def funnel_by_segment(db: Database, f: Filters, by: str) -> pd.DataFrame:
    """Sessions at each funnel step of the selected dates, split by device, channel or country."""
    if by not in SEGMENTS:
        raise ValueError(f"unknown segment {by!r}")
    return db.frame(
        """
        select
            segment,
            sum(count_sessions)::bigint as sessions,
            sum(count_funnel_view)::bigint as funnel_view,
            sum(count_funnel_cart)::bigint as funnel_cart,
            sum(count_funnel_checkout)::bigint as funnel_checkout,
            sum(count_funnel_purchase)::bigint as funnel_purchase
        from {session_rows}
        where session_date between %(start)s and %(end)s
        group by 1
        order by sessions desc, segment
        """.replace("{session_rows}", _session_rows(f, by)),
        {**f.params(), "by": by},
    )


# ----------------------------------------------------------------- revenue


def revenue_totals(db: Database, f: Filters) -> pd.DataFrame:
    """Per period and currency: orders, units, revenue (currencies are never added together)."""
    return db.frame(
        """
        select
            case when session_date >= %(start)s then 'current' else 'previous' end as period,
            currency,
            sum(orders)::bigint as orders,
            sum(units)::bigint as units,
            sum(revenue) as revenue
        from agg_daily_revenue
        where session_date between %(prev_start)s and %(end)s
            and (%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
            and (%(countries)s::text[] is null or country = any(%(countries)s::text[]))
            and (%(channels)s::text[] is null or channel = any(%(channels)s::text[]))
        group by 1, 2
        order by 1, 2
        """,
        f.params(),
    )


# ----------------------------------------------------------------- products


def product_totals(db: Database, f: Filters) -> pd.DataFrame:
    """Per period: product views, visitors who viewed / added / bought any product, units.

    Without slice filters from agg_daily_products and the 'any_' gaps of sql/005.
    """
    if not f.sliced:
        return db.frame(
            """
            with totals as (
                select
                    case when event_date >= %(start)s then 'current' else 'previous' end as period,
                    sum(count_views)::bigint as views,
                    sum(units)::bigint as units
                from agg_daily_products
                where event_date between %(prev_start)s and %(end)s
                group by 1
            ),

            visitors as (
                select
                    case when activity_date >= %(start)s then 'current' else 'previous' end as period,
                    sum(count_visitors) filter (where kind = 'any_view') as viewers,
                    sum(count_visitors) filter (where kind = 'any_add_to_cart') as adders,
                    sum(count_visitors) filter (where kind = 'any_purchase') as buyers
                from agg_daily_visitor_gaps
                where kind in ('any_view', 'any_add_to_cart', 'any_purchase')
                    and activity_date between %(prev_start)s and %(end)s
                    and (
                        gap_days = 0
                        or activity_date - gap_days < case
                            when activity_date >= %(start)s then %(start)s::date
                            else %(prev_start)s::date
                        end
                    )
                group by 1
            ),

            final as (
                select
                    totals.period,
                    totals.views,
                    coalesce(visitors.viewers, 0)::bigint as viewers,
                    coalesce(visitors.adders, 0)::bigint as adders,
                    coalesce(visitors.buyers, 0)::bigint as buyers,
                    totals.units
                from totals
                left join visitors on visitors.period = totals.period
            )

            select * from final
            """,
            f.params(),
        )
    return db.frame(
        """
        with visitors as (
            select
                case when event_date >= %(start)s then 'current' else 'previous' end as period,
                anonymous_id,
                sum(count_views) as views,
                sum(count_add_to_carts) as add_to_carts,
                sum(count_purchases) as purchases,
                sum(units) as units
            from agg_daily_product_visitors
            where event_date between %(prev_start)s and %(end)s
                and (%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
                and (%(countries)s::text[] is null or country = any(%(countries)s::text[]))
                and (%(channels)s::text[] is null or channel = any(%(channels)s::text[]))
            group by 1, 2
        ),

        final as (
            select
                period,
                sum(views)::bigint as views,
                count(*) filter (where views > 0)::bigint as viewers,
                count(*) filter (where add_to_carts > 0)::bigint as adders,
                count(*) filter (where purchases > 0)::bigint as buyers,
                sum(units)::bigint as units
            from visitors
            group by period
        )

        select * from final
        """,
        f.params(),
    )


_PRODUCT_TABLE_FROM_ROLLUPS = """
with rows as (
    select *
    from agg_daily_products
    where event_date between %(start)s and %(end)s
),

products as (
    select
        product_id,
        sum(count_views)::bigint as views,
        sum(count_purchases)::bigint as orders,
        sum(units)::bigint as units
    from rows
    group by product_id
),

visitors as (
    select
        item as product_id,
        kind,
        sum(count_visitors) as visitors
    from agg_daily_visitor_gaps
    where kind in ('view', 'add_to_cart', 'purchase')
        and activity_date between %(start)s and %(end)s
        and (gap_days = 0 or activity_date - gap_days < %(start)s)
    group by item, kind
),

product_visitors as (
    select
        product_id,
        coalesce(sum(visitors) filter (where kind = 'view'), 0)::bigint as viewers,
        coalesce(sum(visitors) filter (where kind = 'add_to_cart'), 0)::bigint as adders,
        coalesce(sum(visitors) filter (where kind = 'purchase'), 0)::bigint as buyers
    from visitors
    group by product_id
),

product_revenue as (
    select
        product_id,
        jsonb_object_agg(currency, revenue) as revenue
    from (
        select
            product_id,
            currency,
            sum(revenue) as revenue
        from rows
        where currency <> ''
        group by product_id, currency
        having sum(count_purchases) > 0
    ) as by_currency
    group by product_id
),

final as (
    select
        products.product_id,
        coalesce(dim_product.category, '') as category,
        products.views,
        coalesce(product_visitors.viewers, 0) as viewers,
        coalesce(product_visitors.adders, 0) as adders,
        coalesce(product_visitors.buyers, 0) as buyers,
        products.orders,
        products.units,
        coalesce(product_revenue.revenue, '{}'::jsonb) as revenue
    from products
    left join dim_product on dim_product.product_id = products.product_id
    left join product_visitors on product_visitors.product_id = products.product_id
    left join product_revenue on product_revenue.product_id = products.product_id
)

select * from final order by units desc, views desc, product_id
"""


def product_table(db: Database, f: Filters) -> pd.DataFrame:
    """Per product over the selected dates: views, viewers, adders, buyers, units, revenue by currency.

    Rates are per visitor (DESIGN.md "Product"): visitors who added (or bought)
    the product / visitors who viewed it. Without slice filters from
    agg_daily_products and the per-product gaps of sql/005.
    """
    if not f.sliced:
        return db.frame(_PRODUCT_TABLE_FROM_ROLLUPS, f.params())
    return db.frame(
        """
        with rows as (
            select *
            from agg_daily_product_visitors
            where event_date between %(start)s and %(end)s
                and (%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
                and (%(countries)s::text[] is null or country = any(%(countries)s::text[]))
                and (%(channels)s::text[] is null or channel = any(%(channels)s::text[]))
        ),

        product_visitors as (
            select
                product_id,
                anonymous_id,
                sum(count_views) as views,
                sum(count_add_to_carts) as add_to_carts,
                sum(count_purchases) as purchases,
                sum(units) as units
            from rows
            group by product_id, anonymous_id
        ),

        products as (
            select
                product_id,
                sum(views)::bigint as views,
                count(*) filter (where views > 0)::bigint as viewers,
                count(*) filter (where add_to_carts > 0)::bigint as adders,
                count(*) filter (where purchases > 0)::bigint as buyers,
                sum(purchases)::bigint as orders,
                sum(units)::bigint as units
            from product_visitors
            group by product_id
        ),

        product_revenue as (
            select
                product_id,
                jsonb_object_agg(currency, revenue) as revenue
            from (
                select
                    product_id,
                    currency,
                    sum(revenue) as revenue
                from rows
                where currency <> '' and count_purchases > 0
                group by product_id, currency
            ) as by_currency
            group by product_id
        ),

        final as (
            select
                products.product_id,
                coalesce(dim_product.category, '') as category,
                products.views,
                products.viewers,
                products.adders,
                products.buyers,
                products.orders,
                products.units,
                coalesce(product_revenue.revenue, '{}'::jsonb) as revenue
            from products
            left join dim_product on dim_product.product_id = products.product_id
            left join product_revenue on product_revenue.product_id = products.product_id
        )

        select * from final order by units desc, views desc, product_id
        """,
        f.params(),
    )


_CATEGORY_TABLE_FROM_ROLLUPS = """
with rows as (
    select
        coalesce(dim_product.category, '') as category,
        facts.*
    from agg_daily_products as facts
    left join dim_product on dim_product.product_id = facts.product_id
    where facts.event_date between %(start)s and %(end)s
),

categories as (
    select
        category,
        sum(count_views)::bigint as views,
        sum(units)::bigint as units
    from rows
    group by category
),

visitors as (
    select
        item as category,
        sum(count_visitors) filter (where kind = 'category_view') as viewers,
        sum(count_visitors) filter (where kind = 'category_add_to_cart') as adders,
        sum(count_visitors) filter (where kind = 'category_purchase') as buyers
    from agg_daily_visitor_gaps
    where kind in ('category_view', 'category_add_to_cart', 'category_purchase')
        and activity_date between %(start)s and %(end)s
        and (gap_days = 0 or activity_date - gap_days < %(start)s)
    group by item
),

category_revenue as (
    select
        category,
        jsonb_object_agg(currency, revenue) as revenue
    from (
        select
            category,
            currency,
            sum(revenue) as revenue
        from rows
        where currency <> ''
        group by category, currency
        having sum(count_purchases) > 0
    ) as by_currency
    group by category
),

final as (
    select
        categories.category,
        categories.views,
        coalesce(visitors.viewers, 0)::bigint as viewers,
        coalesce(visitors.adders, 0)::bigint as adders,
        coalesce(visitors.buyers, 0)::bigint as buyers,
        categories.units,
        coalesce(category_revenue.revenue, '{}'::jsonb) as revenue
    from categories
    left join visitors on visitors.category = categories.category
    left join category_revenue on category_revenue.category = categories.category
)

select * from final order by units desc, views desc, category
"""


def category_table(db: Database, f: Filters) -> pd.DataFrame:
    """Per category over the selected dates, with visitors counted once per category.

    Without slice filters from agg_daily_products and the category gaps of sql/005
    (whose categories follow dim_product's, as the join here does).
    """
    if not f.sliced:
        return db.frame(_CATEGORY_TABLE_FROM_ROLLUPS, f.params())
    return db.frame(
        """
        with rows as (
            select
                coalesce(dim_product.category, '') as category,
                facts.*
            from agg_daily_product_visitors as facts
            left join dim_product on dim_product.product_id = facts.product_id
            where facts.event_date between %(start)s and %(end)s
                and (%(devices)s::text[] is null or facts.device_type = any(%(devices)s::text[]))
                and (%(countries)s::text[] is null or facts.country = any(%(countries)s::text[]))
                and (%(channels)s::text[] is null or facts.channel = any(%(channels)s::text[]))
        ),

        category_visitors as (
            select
                category,
                anonymous_id,
                sum(count_views) as views,
                sum(count_add_to_carts) as add_to_carts,
                sum(count_purchases) as purchases,
                sum(units) as units
            from rows
            group by category, anonymous_id
        ),

        categories as (
            select
                category,
                sum(views)::bigint as views,
                count(*) filter (where views > 0)::bigint as viewers,
                count(*) filter (where add_to_carts > 0)::bigint as adders,
                count(*) filter (where purchases > 0)::bigint as buyers,
                sum(units)::bigint as units
            from category_visitors
            group by category
        ),

        category_revenue as (
            select
                category,
                jsonb_object_agg(currency, revenue) as revenue
            from (
                select
                    category,
                    currency,
                    sum(revenue) as revenue
                from rows
                where currency <> '' and count_purchases > 0
                group by category, currency
            ) as by_currency
            group by category
        ),

        final as (
            select
                categories.*,
                coalesce(category_revenue.revenue, '{}'::jsonb) as revenue
            from categories
            left join category_revenue on category_revenue.category = categories.category
        )

        select * from final order by units desc, views desc, category
        """,
        f.params(),
    )


# ----------------------------------------------------------------- acquisition


def acquisition_breakdown(db: Database, f: Filters, by: str) -> pd.DataFrame:
    """Per channel, device or country over the selected dates: sessions, conversion, revenue."""
    if by not in SEGMENTS:
        raise ValueError(f"unknown segment {by!r}")
    return db.frame(
        """
        with sessions as (
            select
                segment,
                sum(count_sessions)::bigint as sessions,
                sum(count_engaged_sessions)::bigint as engaged_sessions,
                sum(count_page_views)::bigint as page_views,
                sum(count_funnel_purchase)::bigint as purchase_sessions
            from {session_rows}
            where session_date between %(start)s and %(end)s
            group by 1
        ),

        revenue_by_currency as (
            select
                case %(by)s
                    when 'device' then device_type
                    when 'channel' then channel
                    else country
                end as segment,
                currency,
                sum(orders)::bigint as orders,
                sum(revenue) as revenue
            from agg_daily_revenue
            where session_date between %(start)s and %(end)s
                and (%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
                and (%(countries)s::text[] is null or country = any(%(countries)s::text[]))
                and (%(channels)s::text[] is null or channel = any(%(channels)s::text[]))
            group by 1, 2
        ),

        revenue as (
            select
                segment,
                sum(orders)::bigint as orders,
                jsonb_object_agg(currency, revenue) as revenue
            from revenue_by_currency
            group by segment
        ),

        final as (
            select
                sessions.*,
                coalesce(revenue.orders, 0) as orders,
                coalesce(revenue.revenue, '{}'::jsonb) as revenue
            from sessions
            left join revenue on revenue.segment = sessions.segment
        )

        select * from final order by sessions desc, segment
        """.replace("{session_rows}", _session_rows(f, by)),
        {**f.params(), "by": by},
    )


def _landing_rows(f: Filters) -> str:
    """Sessions by date, channel, referrer and UTM tags: agg_daily_landings_all without slice filters
    (twenty times fewer rows), else agg_daily_landings in the selected slices."""
    if not f.sliced:
        return "agg_daily_landings_all"
    return """(
            select *
            from agg_daily_landings
            where (%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
                and (%(countries)s::text[] is null or country = any(%(countries)s::text[]))
                and (%(channels)s::text[] is null or channel = any(%(channels)s::text[]))
        ) as landing_rows"""


def referrer_table(db: Database, f: Filters) -> pd.DataFrame:
    """Per landing referrer host and channel: sessions, engagement, purchases, revenue.

    From agg_daily_landings (fact_sessions summed by date, slice, referrer and UTM
    tags; agg_daily_landings_all without slice filters) and agg_daily_landing_revenue.
    """
    return db.frame(
        """
        with referrers as (
            select
                referrer_host,
                channel,
                sum(count_sessions)::bigint as sessions,
                sum(count_engaged_sessions)::bigint as engaged_sessions,
                sum(count_purchase_sessions)::bigint as purchase_sessions
            from {landing_rows}
            where session_date between %(start)s and %(end)s
            group by 1, 2
        ),

        revenue_by_currency as (
            select
                referrer_host,
                channel,
                currency,
                sum(revenue) as revenue
            from agg_daily_landing_revenue
            where session_date between %(start)s and %(end)s
                and (%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
                and (%(countries)s::text[] is null or country = any(%(countries)s::text[]))
                and (%(channels)s::text[] is null or channel = any(%(channels)s::text[]))
            group by 1, 2, 3
        ),

        revenue as (
            select
                referrer_host,
                channel,
                jsonb_object_agg(currency, revenue) as revenue
            from revenue_by_currency
            group by 1, 2
        ),

        final as (
            select
                referrers.*,
                coalesce(revenue.revenue, '{}'::jsonb) as revenue
            from referrers
            left join revenue
                on revenue.referrer_host = referrers.referrer_host
                and revenue.channel = referrers.channel
        )

        select * from final order by sessions desc, referrer_host, channel
        """.replace("{landing_rows}", _landing_rows(f)),
        f.params(),
    )


def campaign_table(db: Database, f: Filters) -> pd.DataFrame:
    """Per UTM campaign, source, medium and channel (untagged sessions left out), from agg_daily_landings."""
    return db.frame(
        """
        with tagged as (
            select
                coalesce(utm_campaign, '') as campaign,
                coalesce(utm_source, '') as source,
                coalesce(utm_medium, '') as medium,
                channel,
                count_sessions,
                count_engaged_sessions,
                count_purchase_sessions
            from {landing_rows}
            where session_date between %(start)s and %(end)s
                and (utm_campaign is not null or utm_source is not null or utm_medium is not null)
        ),

        campaigns as (
            select
                campaign,
                source,
                medium,
                channel,
                sum(count_sessions)::bigint as sessions,
                sum(count_engaged_sessions)::bigint as engaged_sessions,
                sum(count_purchase_sessions)::bigint as purchase_sessions
            from tagged
            group by 1, 2, 3, 4
        ),

        revenue_by_currency as (
            select
                coalesce(utm_campaign, '') as campaign,
                coalesce(utm_source, '') as source,
                coalesce(utm_medium, '') as medium,
                channel,
                currency,
                sum(revenue) as revenue
            from agg_daily_landing_revenue
            where session_date between %(start)s and %(end)s
                and (utm_campaign is not null or utm_source is not null or utm_medium is not null)
                and (%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
                and (%(countries)s::text[] is null or country = any(%(countries)s::text[]))
                and (%(channels)s::text[] is null or channel = any(%(channels)s::text[]))
            group by 1, 2, 3, 4, 5
        ),

        revenue as (
            select
                campaign,
                source,
                medium,
                channel,
                jsonb_object_agg(currency, revenue) as revenue
            from revenue_by_currency
            group by 1, 2, 3, 4
        ),

        final as (
            select
                campaigns.*,
                coalesce(revenue.revenue, '{}'::jsonb) as revenue
            from campaigns
            left join revenue
                on revenue.campaign = campaigns.campaign
                and revenue.source = campaigns.source
                and revenue.medium = campaigns.medium
                and revenue.channel = campaigns.channel
        )

        select * from final order by sessions desc, campaign, source, medium, channel
        """.replace("{landing_rows}", _landing_rows(f)),
        f.params(),
    )


# ----------------------------------------------------------------- pipeline health


def runs_in_range(db: Database, first_hour: datetime, last_hour: datetime) -> pd.DataFrame:
    """etl_runs of the hours in a range: what each execution loaded, and when."""
    return db.frame(
        """
        select
            execution_name,
            hour,
            status,
            objects,
            lines_read,
            loaded,
            duplicates,
            rejected,
            quarantined,
            sessions_replaced,
            started_at,
            upserted_at,
            finished_at
        from etl_runs
        where hour between %(first_hour)s and %(last_hour)s
        order by hour, started_at
        """,
        {"first_hour": first_hour, "last_hour": last_hour},
    )


def watermark(db: Database) -> dict[str, Any] | None:
    """The one etl_watermark row (None before the first successful run)."""
    rows = db.records(
        """
        select
            watermark_hour,
            execution_name,
            updated_at
        from etl_watermark
        """
    )
    return rows[0] if rows else None


def rejects_by_reason(db: Database, first_hour: datetime, last_hour: datetime) -> pd.DataFrame:
    """Rejected lines by reason, for raw partitions received in a range of hours."""
    return db.frame(
        """
        select
            reason,
            sum(count_lines)::bigint as rejected_lines,
            count(distinct object_key)::bigint as objects
        from etl_rejects
        where partition_hour between %(first_hour)s and %(last_hour)s
        group by reason
        order by rejected_lines desc, reason
        """,
        {"first_hour": first_hour, "last_hour": last_hour},
    )


def processed_totals(db: Database, first_hour: datetime, last_hour: datetime) -> dict[str, Any]:
    """Objects and lines committed for raw partitions received in a range of hours."""
    (row,) = db.records(
        """
        select
            count(*)::bigint as objects,
            coalesce(sum(lines_read), 0)::bigint as lines_read,
            coalesce(sum(loaded), 0)::bigint as loaded,
            coalesce(sum(duplicates), 0)::bigint as duplicates,
            coalesce(sum(rejected), 0)::bigint as rejected,
            count(*) filter (where is_quarantined)::bigint as quarantined
        from etl_processed_objects
        where partition_hour between %(first_hour)s and %(last_hour)s
        """,
        {"first_hour": first_hour, "last_hour": last_hour},
    )
    return row
