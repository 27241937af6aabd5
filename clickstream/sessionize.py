"""Sessions, always exact: the part of Upsert that keeps fact_sessions and the aggregates exact.

DESIGN.md "Session": a visitor's (``anonymous_id``) maximal run of events in
which no gap exceeds 30 minutes (a gap of exactly 30 minutes does not split).
Events are ordered by ``(ts, event_id)`` everywhere, so equal timestamps have
one order; "first" and "last" event mean first and last in that order. A
session's id is ``uuid5(SESSION_NAMESPACE, f"{anonymous_id}|{start}")`` with
``SESSION_NAMESPACE = uuid5(NAMESPACE_URL, "https://clickstream.local/session")``
and ``start`` in UTC as ``2025-10-18T13:00:00.000000Z``, so recomputing a
session never changes its id unless its start changes.

Everything here runs inside Upsert's transaction (under its advisory lock),
after the run's new rows are picked into ``stage_new`` and before they are
inserted, so sessions, facts and the manifest commit together:

1. ``plan``: the seeds are the new events (and any stored event that never
   got a session, see sql/004). A visitor's seeds with no gap over 30 minutes
   form an island; the stored sessions with an event within 30 minutes of an
   island are the touched sessions. A new event can only extend or merge
   sessions (it never splits one), so the final sessions containing new
   events are made of exactly the new events and the touched sessions'
   events, and every other stored session stays as it is. Those events are
   read with the (anonymous_id, ts) index and sessionized again, and the
   session ids are computed (uuid5, in Python: PostgreSQL has no SHA-1).
2. ``apply`` (after the new rows are inserted with their session ids, see
   ``new_event_sessions``): the stored events whose session changed are
   updated, the touched sessions are deleted (their revenue cascades) and the
   recomputed ones inserted with their revenue, then the aggregates are
   replaced for the keys the run touched: agg_daily_sessions and
   agg_daily_revenue for every session_date of a removed or inserted
   session; agg_daily_visitors and agg_daily_product_visitors for every
   (date, visitor) pair with an event in a removed or inserted session (their
   grain holds the visitor; a changed session can change the slice of each of
   its events, on every date it spans).

The work is proportional to the new events and the sessions they touch: a
returning visitor's older sessions are never read, however long the history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg

SESSION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://clickstream.local/session")
SESSION_GAP = "30 minutes"


def session_uuid(anonymous_id: str, session_start: datetime) -> uuid.UUID:
    """The deterministic id of the visitor's session that starts at ``session_start``."""
    start = session_start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return uuid.uuid5(SESSION_NAMESPACE, f"{anonymous_id}|{start}")


@dataclass(frozen=True)
class SessionChanges:
    """What ``apply`` did, for the run's row and the state's result."""

    sessions_replaced: int  # stored sessions removed (each merged into or extended by a new one)
    sessions_written: int  # sessions inserted
    events_resessioned: int  # stored events whose session_id changed
    dates: list[date]  # every date whose aggregates were recomputed (some keys or all of it)


# ----------------------------------------------------------------- plan

# The stored events that never got a session (loaded before sql/004), via its partial index.
_ANY_UNSESSIONIZED = "select exists (select from fact_events where session_id is null)"

_RANGES = """
create temp table session_ranges on commit drop as
with new_events as (
    select
        anonymous_id,
        ts
    from stage_new
),

unsessionized_events as (
    select
        anonymous_id,
        ts
    from fact_events
    where {unsessionized}
        and session_id is null
),

seeds as (
    select * from new_events
    union all
    select * from unsessionized_events
),

seeds_flagged as (
    select
        anonymous_id,
        ts,
        coalesce(
            ts - lag(ts) over (partition by anonymous_id order by ts) > interval '{gap}', true
        ) as is_island_start
    from seeds
),

seeds_numbered as (
    select
        anonymous_id,
        ts,
        count(*) filter (where is_island_start) over (
            partition by anonymous_id
            order by ts
            rows between unbounded preceding and current row
        ) as island_number
    from seeds_flagged
),

-- one row per island: a visitor's seeds with no gap over 30 minutes
islands as (
    select
        anonymous_id,
        min(ts) as island_start,
        max(ts) as island_end
    from seeds_numbered
    group by
        anonymous_id,
        island_number
),

-- a stored event within 30 minutes of a seed joins its session: every stored event within
-- 30 minutes of an island's ends or inside it is (seeds of an island are <= 30 minutes apart)
touched_sessions as (
    select distinct facts.session_id
    from islands
    inner join fact_events as facts
        on
            facts.anonymous_id = islands.anonymous_id
            and facts.ts >= islands.island_start - interval '{gap}'
            and facts.ts <= islands.island_end + interval '{gap}'
    where facts.session_id is not null
),

spans as (
    select
        anonymous_id,
        island_start as span_start,
        island_end as span_end,
        null::uuid as session_id
    from islands
    union all
    select
        sessions.anonymous_id,
        sessions.session_start as span_start,
        sessions.session_end as span_end,
        sessions.session_id
    from touched_sessions
    inner join fact_sessions as sessions on sessions.session_id = touched_sessions.session_id
),

spans_flagged as (
    select
        *,
        coalesce(
            span_start > max(span_end) over (
                partition by anonymous_id
                order by span_start, span_end
                rows between unbounded preceding and 1 preceding
            ),
            true
        ) as is_range_start
    from spans
),

spans_numbered as (
    select
        *,
        count(*) filter (where is_range_start) over (
            partition by anonymous_id
            order by span_start, span_end
            rows between unbounded preceding and current row
        ) as range_number
    from spans_flagged
),

-- one row per visitor and stretch of time to sessionize again: overlapping islands and
-- touched sessions merged; the stored events in it are exactly those of the touched sessions
ranges as (
    select
        anonymous_id,
        min(span_start) as range_start,
        max(span_end) as range_end,
        array_agg(session_id) filter (where session_id is not null) as touched_session_ids
    from spans_numbered
    group by
        anonymous_id,
        range_number
)

select * from ranges
"""

# The events of the recomputed sessions with every column a session or the aggregates need,
# numbered into sessions. ``stored_session_id`` is null for new (and unsessionized) events.
_SESSION_EVENTS = """
create temp table session_events on commit drop as
with stored_events as (
    select
        facts.event_id,
        facts.session_id as stored_session_id,
        false as is_new,
        facts.anonymous_id,
        facts.ts,
        facts.event_date,
        facts.event_type,
        facts.user_hash,
        facts.page_path,
        facts.referrer,
        facts.referrer_host,
        facts.channel,
        facts.utm_source,
        facts.utm_medium,
        facts.utm_campaign,
        facts.device_type,
        facts.country,
        facts.currency,
        facts.qty,
        facts.revenue
    from session_ranges as ranges
    inner join fact_events as facts
        on
            facts.anonymous_id = ranges.anonymous_id
            and facts.ts >= ranges.range_start
            and facts.ts <= ranges.range_end
),

new_events as (
    select
        event_id,
        null::uuid as stored_session_id,
        true as is_new,
        anonymous_id,
        ts,
        event_date,
        event_type,
        user_hash,
        page_path,
        referrer,
        referrer_host,
        channel,
        utm_source,
        utm_medium,
        utm_campaign,
        device_type,
        country,
        currency,
        qty,
        revenue
    from stage_new
),

all_events as (
    select * from stored_events
    union all
    select * from new_events
),

events_windowed as (
    select
        *,
        lag(ts) over visitor_events as previous_ts,
        lead(ts) over visitor_events as next_ts
    from all_events
    window visitor_events as (partition by anonymous_id order by ts, event_id)
),

-- a session starts after a gap over 30 minutes and ends before one
events_flagged as (
    select
        *,
        coalesce(ts - previous_ts > interval '{gap}', true) as is_session_start,
        coalesce(next_ts - ts > interval '{gap}', true) as is_session_end
    from events_windowed
),

-- each event's session, numbered across the run: the session starts counted so far (in the
-- order above, so the events are sorted once)
events_sessionized as (
    select
        *,
        count(*) filter (where is_session_start) over (
            order by anonymous_id, ts, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from events_flagged
)

select * from events_sessionized
"""

_CREATE_SESSION_KEYS = """
create temp table session_keys (
    session_number bigint primary key,
    session_id uuid not null
) on commit drop
"""

# One row per new event: its session, for the insert into fact_events.
_NEW_EVENT_SESSIONS = """
create temp table new_event_sessions on commit drop as
select
    events.event_id,
    keys.session_id
from session_events as events
inner join session_keys as keys on keys.session_number = events.session_number
where events.is_new
"""


def plan(cur: psycopg.Cursor[Any]) -> int:
    """Sessionize the new events in ``stage_new`` with the stored sessions they touch.

    Leaves the temp tables ``session_ranges``, ``session_events``,
    ``session_keys`` and ``new_event_sessions`` (event_id, session_id of every
    new event) for the insert and ``apply``. Returns the number of sessions
    the run will write.
    """
    cur.execute("analyze stage_new")  # row counts for the plans below (a sample: cheap)
    cur.execute(_ANY_UNSESSIONIZED)
    row = cur.fetchone()
    unsessionized = bool(row and row[0])
    cur.execute(_RANGES.format(gap=SESSION_GAP, unsessionized="true" if unsessionized else "false"))
    cur.execute("analyze session_ranges")
    cur.execute(_SESSION_EVENTS.format(gap=SESSION_GAP))
    cur.execute("analyze session_events")

    cur.execute("select session_number, anonymous_id, ts from session_events where is_session_start")
    starts = cur.fetchall()
    cur.execute(_CREATE_SESSION_KEYS)
    with cur.copy("copy session_keys (session_number, session_id) from stdin") as copy:
        for session_number, anonymous_id, session_start in starts:
            copy.write_row((session_number, session_uuid(anonymous_id, session_start)))
    cur.execute("analyze session_keys")
    cur.execute(_NEW_EVENT_SESSIONS)
    return len(starts)


# ----------------------------------------------------------------- apply

_MOVE_STORED_EVENTS = """
update fact_events
set session_id = moved.session_id
from (
    select
        events.event_id,
        keys.session_id
    from session_events as events
    inner join session_keys as keys on keys.session_number = events.session_number
    where
        not events.is_new
        and events.stored_session_id is distinct from keys.session_id
) as moved
where fact_events.event_id = moved.event_id
"""

_REMOVE_TOUCHED_SESSIONS = """
delete from fact_sessions
where session_id in (
    select unnest(touched_session_ids)
    from session_ranges
)
returning session_date
"""

_NEW_SESSIONS = """
create temp table new_sessions on commit drop as
with session_totals as (
    select
        session_number,
        anonymous_id,
        min(ts) as session_start,
        max(ts) as session_end,
        -- the two ordered aggregates share one order, so the events are sorted once
        array_agg(user_hash order by ts, event_id) filter (where user_hash is not null) as user_hashes,
        funnel_step(event_type order by ts, event_id) as funnel_step,
        count(*)::integer as count_events,
        (count(*) filter (where event_type = 'view'))::integer as count_page_views,
        (count(*) filter (where event_type = 'purchase'))::integer as count_purchases,
        bool_or(event_type = 'add_to_cart') as reached_cart,
        bool_or(event_type = 'checkout') as reached_checkout,
        bool_or(event_type = 'purchase') as reached_purchase
    from session_events
    group by
        session_number,
        anonymous_id
),

first_events as (
    select *
    from session_events
    where is_session_start
),

last_events as (
    select *
    from session_events
    where is_session_end
),

sessions as (
    select
        keys.session_id,
        totals.anonymous_id,
        totals.user_hashes[array_upper(totals.user_hashes, 1)] as user_hash,
        totals.session_start,
        totals.session_end,
        (totals.session_start at time zone 'UTC')::date as session_date,
        extract(hour from totals.session_start at time zone 'UTC')::smallint as start_hour,
        extract(epoch from totals.session_end - totals.session_start)::double precision as duration_s,
        totals.count_events,
        totals.count_page_views,
        first_events.page_path as entry_page,
        last_events.page_path as exit_page,
        first_events.referrer as landing_referrer,
        first_events.referrer_host as landing_referrer_host,
        first_events.channel,
        first_events.utm_source,
        first_events.utm_medium,
        first_events.utm_campaign,
        first_events.device_type,
        first_events.country,
        totals.reached_cart,
        totals.reached_checkout,
        totals.reached_purchase,
        totals.funnel_step,
        totals.count_purchases
    from session_totals as totals
    inner join session_keys as keys on keys.session_number = totals.session_number
    inner join first_events on first_events.session_number = totals.session_number
    inner join last_events on last_events.session_number = totals.session_number
),

sessions_engaged as (
    select
        *,
        duration_s > 10 or count_page_views >= 2 or count_purchases > 0 as is_engaged
    from sessions
)

select * from sessions_engaged
"""

_INSERT_SESSIONS = """
insert into fact_sessions (
    session_id,
    anonymous_id,
    user_hash,
    session_start,
    session_end,
    session_date,
    start_hour,
    duration_s,
    count_events,
    count_page_views,
    entry_page,
    exit_page,
    landing_referrer,
    landing_referrer_host,
    channel,
    utm_source,
    utm_medium,
    utm_campaign,
    device_type,
    country,
    reached_cart,
    reached_checkout,
    reached_purchase,
    funnel_step,
    count_purchases,
    is_engaged
)
select
    session_id,
    anonymous_id,
    user_hash,
    session_start,
    session_end,
    session_date,
    start_hour,
    duration_s,
    count_events,
    count_page_views,
    entry_page,
    exit_page,
    landing_referrer,
    landing_referrer_host,
    channel,
    utm_source,
    utm_medium,
    utm_campaign,
    device_type,
    country,
    reached_cart,
    reached_checkout,
    reached_purchase,
    funnel_step,
    count_purchases,
    is_engaged
from new_sessions
"""

_INSERT_SESSION_REVENUE = """
insert into fact_session_revenue (
    session_id,
    currency,
    orders,
    units,
    revenue
)
with purchases as (
    select
        session_number,
        coalesce(currency, '') as currency,
        qty,
        revenue
    from session_events
    where event_type = 'purchase'
),

session_revenue as (
    select
        session_number,
        currency,
        count(*)::integer as orders,
        coalesce(sum(qty), 0)::integer as units,
        coalesce(sum(revenue), 0) as revenue
    from purchases
    group by
        session_number,
        currency
),

session_revenue_keyed as (
    select
        keys.session_id,
        session_revenue.currency,
        session_revenue.orders,
        session_revenue.units,
        session_revenue.revenue
    from session_revenue
    inner join session_keys as keys on keys.session_number = session_revenue.session_number
)

select * from session_revenue_keyed
"""

_TOUCHED_VISITOR_DAYS = """
create temp table touched_visitor_days on commit drop as
select distinct
    event_date as activity_date,
    anonymous_id
from session_events
"""

_AGG_DAILY_SESSIONS = """
insert into agg_daily_sessions (
    session_date,
    start_hour,
    device_type,
    country,
    channel,
    count_sessions,
    count_engaged_sessions,
    count_page_views,
    count_events,
    sum_duration_s,
    count_funnel_view,
    count_funnel_cart,
    count_funnel_checkout,
    count_funnel_purchase
)
with sessions as (
    select *
    from fact_sessions
    where session_date = any(%(dates)s::date[])
),

daily as (
    select
        session_date,
        start_hour,
        device_type,
        coalesce(country, '') as country,
        channel,
        count(*)::integer as count_sessions,
        (count(*) filter (where is_engaged))::integer as count_engaged_sessions,
        sum(count_page_views)::integer as count_page_views,
        sum(count_events)::integer as count_events,
        sum(duration_s) as sum_duration_s,
        (count(*) filter (where funnel_step >= 1))::integer as count_funnel_view,
        (count(*) filter (where funnel_step >= 2))::integer as count_funnel_cart,
        (count(*) filter (where funnel_step >= 3))::integer as count_funnel_checkout,
        (count(*) filter (where funnel_step = 4))::integer as count_funnel_purchase
    from sessions
    group by
        session_date,
        start_hour,
        device_type,
        coalesce(country, ''),
        channel
)

select * from daily
"""

_AGG_DAILY_REVENUE = """
insert into agg_daily_revenue (
    session_date,
    device_type,
    country,
    channel,
    currency,
    count_purchasing_sessions,
    orders,
    units,
    revenue
)
with sessions as (
    select
        session_id,
        session_date,
        device_type,
        coalesce(country, '') as country,
        channel
    from fact_sessions
    where session_date = any(%(dates)s::date[])
),

session_revenue as (
    select
        sessions.session_date,
        sessions.device_type,
        sessions.country,
        sessions.channel,
        revenue.currency,
        revenue.orders,
        revenue.units,
        revenue.revenue
    from sessions
    inner join fact_session_revenue as revenue on revenue.session_id = sessions.session_id
),

daily as (
    select
        session_date,
        device_type,
        country,
        channel,
        currency,
        count(*)::integer as count_purchasing_sessions,
        sum(orders)::integer as orders,
        sum(units)::integer as units,
        sum(revenue) as revenue
    from session_revenue
    group by
        session_date,
        device_type,
        country,
        channel,
        currency
)

select * from daily
"""

# The stored events of the touched (date, visitor) pairs (by the visitor/ts index).
_VISITOR_DAY_EVENTS = """
visitor_day_events as (
    select
        days.activity_date,
        facts.anonymous_id,
        facts.session_id,
        facts.event_type,
        facts.product_id,
        coalesce(facts.currency, '') as currency,
        facts.qty,
        facts.revenue
    from touched_visitor_days as days
    inner join fact_events as facts
        on
            facts.anonymous_id = days.anonymous_id
            and facts.ts >= days.activity_date::timestamp at time zone 'UTC'
            and facts.ts < (days.activity_date + 1)::timestamp at time zone 'UTC'
            and facts.event_date = days.activity_date
)
"""

_AGG_DAILY_VISITORS = f"""
insert into agg_daily_visitors (
    activity_date,
    anonymous_id,
    device_type,
    country,
    channel,
    count_events,
    count_page_views
)
with {_VISITOR_DAY_EVENTS},

-- counted per session first: a session's slice is looked up once, not once per event
visitor_day_sessions as (
    select
        activity_date,
        anonymous_id,
        session_id,
        count(*) as count_events,
        count(*) filter (where event_type = 'view') as count_page_views
    from visitor_day_events
    group by
        activity_date,
        anonymous_id,
        session_id
),

visitor_day_slices as (
    select
        visitor_day_sessions.*,
        sessions.device_type,
        coalesce(sessions.country, '') as country,
        sessions.channel
    from visitor_day_sessions
    inner join fact_sessions as sessions on sessions.session_id = visitor_day_sessions.session_id
),

daily as (
    select
        activity_date,
        anonymous_id,
        device_type,
        country,
        channel,
        sum(count_events)::integer as count_events,
        sum(count_page_views)::integer as count_page_views
    from visitor_day_slices
    group by
        activity_date,
        anonymous_id,
        device_type,
        country,
        channel
)

select * from daily
"""

_AGG_DAILY_PRODUCT_VISITORS = f"""
insert into agg_daily_product_visitors (
    event_date,
    anonymous_id,
    product_id,
    device_type,
    country,
    channel,
    currency,
    count_views,
    count_add_to_carts,
    count_purchases,
    units,
    revenue
)
with {_VISITOR_DAY_EVENTS},

-- counted per session first, as in agg_daily_visitors
visitor_day_session_products as (
    select
        activity_date,
        anonymous_id,
        session_id,
        product_id,
        currency,
        count(*) filter (where event_type = 'view') as count_views,
        count(*) filter (where event_type = 'add_to_cart') as count_add_to_carts,
        count(*) filter (where event_type = 'purchase') as count_purchases,
        coalesce(sum(qty) filter (where event_type = 'purchase'), 0) as units,
        coalesce(sum(revenue) filter (where event_type = 'purchase'), 0) as revenue
    from visitor_day_events
    where
        product_id is not null
        and event_type in ('view', 'add_to_cart', 'purchase')
    group by
        activity_date,
        anonymous_id,
        session_id,
        product_id,
        currency
),

visitor_day_product_slices as (
    select
        products.*,
        sessions.device_type,
        coalesce(sessions.country, '') as country,
        sessions.channel
    from visitor_day_session_products as products
    inner join fact_sessions as sessions on sessions.session_id = products.session_id
),

daily as (
    select
        activity_date as event_date,
        anonymous_id,
        product_id,
        device_type,
        country,
        channel,
        currency,
        sum(count_views)::integer as count_views,
        sum(count_add_to_carts)::integer as count_add_to_carts,
        sum(count_purchases)::integer as count_purchases,
        sum(units)::integer as units,
        sum(revenue) as revenue
    from visitor_day_product_slices
    group by
        activity_date,
        anonymous_id,
        product_id,
        device_type,
        country,
        channel,
        currency
)

select * from daily
"""


def apply(cur: psycopg.Cursor[Any]) -> SessionChanges:
    """Write what ``plan`` computed, once the new events are in fact_events with their sessions."""
    cur.execute(_MOVE_STORED_EVENTS)
    events_resessioned = cur.rowcount
    cur.execute(_REMOVE_TOUCHED_SESSIONS)
    removed_dates = {r[0] for r in cur.fetchall()}
    sessions_replaced = cur.rowcount
    cur.execute(_NEW_SESSIONS)
    cur.execute(_INSERT_SESSIONS)
    sessions_written = cur.rowcount
    cur.execute(_INSERT_SESSION_REVENUE)

    cur.execute("select distinct session_date from new_sessions")
    session_dates = sorted(removed_dates | {r[0] for r in cur.fetchall()})
    cur.execute("delete from agg_daily_sessions where session_date = any(%s::date[])", (session_dates,))
    cur.execute(_AGG_DAILY_SESSIONS, {"dates": session_dates})
    cur.execute("delete from agg_daily_revenue where session_date = any(%s::date[])", (session_dates,))
    cur.execute(_AGG_DAILY_REVENUE, {"dates": session_dates})

    cur.execute(_TOUCHED_VISITOR_DAYS)
    cur.execute("analyze touched_visitor_days")
    for table, date_column in (
        ("agg_daily_visitors", "activity_date"),
        ("agg_daily_product_visitors", "event_date"),
    ):
        cur.execute(
            f"""
            delete from {table} as agg
            using touched_visitor_days as days
            where
                agg.{date_column} = days.activity_date
                and agg.anonymous_id = days.anonymous_id
            """
        )
    cur.execute(_AGG_DAILY_VISITORS)
    cur.execute(_AGG_DAILY_PRODUCT_VISITORS)
    cur.execute("select distinct activity_date from touched_visitor_days")
    activity_dates = {r[0] for r in cur.fetchall()}
    return SessionChanges(
        sessions_replaced=sessions_replaced,
        sessions_written=sessions_written,
        events_resessioned=events_resessioned,
        dates=sorted(set(session_dates) | activity_dates),
    )
