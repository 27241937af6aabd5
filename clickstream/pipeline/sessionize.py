"""Sessions, always exact: the part of SessionizeAndUpsert that keeps fact_sessions and aggregates exact.

DESIGN.md "Session": a visitor's (``anonymous_id``) maximal run of events in
which no gap exceeds 30 minutes (a gap of exactly 30 minutes does not split).
Events are ordered by ``(ts, event_id)`` everywhere, so equal timestamps have
one order; "first" and "last" event mean first and last in that order. A
session's id is ``uuid5(SESSION_NAMESPACE, f"{anonymous_id}|{start}")`` with
``SESSION_NAMESPACE = uuid5(NAMESPACE_URL, "https://clickstream.local/session")``
and ``start`` in UTC as ``2025-10-18T13:00:00.000000Z``, so recomputing a
session never changes its id unless its start changes.

Everything here runs inside SessionizeAndUpsert's transaction (under its advisory lock),
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
   its events, on every date it spans). Then sql/005's dashboard rollups: the
   per-date ones for the same dates, and each touched visitor's chains of
   days (visitor_activity_days, agg_daily_visitor_gaps) from its first touched
   date on; ``apply_categories`` does the category chains once dim_product has
   the run's products.

The work is proportional to the new events and the sessions they touch: a
returning visitor's older sessions are never read, however long the history.
(One exception, rare: when dim_product files a product under another
category, every visitor of that product has its category days counted again.)
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
            ts - lag(ts) over (partition by anonymous_id collate "C" order by ts) > interval '{gap}', true
        ) as is_island_start
    from seeds
),

seeds_numbered as (
    select
        anonymous_id,
        ts,
        count(*) filter (where is_island_start) over (
            partition by anonymous_id collate "C"
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
                partition by anonymous_id collate "C"
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
            partition by anonymous_id collate "C"
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
    window visitor_events as (partition by anonymous_id collate "C" order by ts, event_id)
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
            order by anonymous_id collate "C", ts, event_id
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
    group by session_number
),

-- (a session's anonymous_id is its first event's: grouping by it too would compare it in the sort)
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
        first_events.anonymous_id,
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
order by anonymous_id collate "C", session_start
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

# Each touched visitor (touched_visitors, below) with its first touched date: its stored events
# since that date, read once (by the visitor/ts index) for the per-visitor aggregates and the
# visitor's chains of days. A superset of the events of the touched (date, visitor) pairs.
_TOUCHED_VISITOR_EVENTS = """
create temp table touched_visitor_events on commit drop as
select
    facts.anonymous_id,
    facts.event_date,
    facts.session_id,
    facts.event_type,
    facts.product_id,
    facts.currency,
    facts.qty,
    facts.revenue
from touched_visitors as visitors
inner join fact_events as facts
    on
        facts.anonymous_id = visitors.anonymous_id
        and facts.ts >= visitors.first_date::timestamp at time zone 'UTC'
        and facts.event_date >= visitors.first_date
"""

# The stored events of the touched (date, visitor) pairs.
_VISITOR_DAY_EVENTS = """
visitor_day_events as (
    select
        events.event_date as activity_date,
        events.anonymous_id,
        events.session_id,
        events.event_type,
        events.product_id,
        coalesce(events.currency, '') as currency,
        events.qty,
        events.revenue
    from touched_visitor_events as events
    inner join touched_visitor_days as days
        on
            days.anonymous_id = events.anonymous_id
            and days.activity_date = events.event_date
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

-- in primary-key order, as agg_daily_product_visitors below
select * from daily
order by
    activity_date,
    anonymous_id collate "C",
    device_type collate "C",
    country collate "C",
    channel collate "C"
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

-- in primary-key order (bytewise, like the key's collation for these ids): local btree inserts
select * from daily
order by
    event_date,
    anonymous_id collate "C",
    product_id collate "C",
    device_type collate "C",
    country collate "C",
    channel collate "C",
    currency collate "C"
"""


# sql/005: a visitor's chains of days (visitor_activity_days) are replaced from a first date on,
# for a set of visitors in a temp table ``{visitors}`` (anonymous_id, first_date), and
# agg_daily_visitor_gaps moves by the rows removed (-1) and inserted (+1). Two groups of kinds:
# those of the events alone (replaced in ``apply`` for the touched visitors) and the category
# kinds, which also depend on dim_product (replaced in ``apply_categories``, after it).
EVENT_KINDS = ("event", "view", "add_to_cart", "purchase", "any_view", "any_add_to_cart", "any_purchase")
CATEGORY_KINDS = ("category_view", "category_add_to_cart", "category_purchase")

_TOUCHED_VISITORS = """
create temp table touched_visitors on commit drop as
select
    anonymous_id,
    min(activity_date) as first_date
from touched_visitor_days
group by anonymous_id
"""

_CREATE_VISITOR_DAY_CHANGES = """
create temp table {changes} (
    kind text not null,
    activity_date date not null,
    item text not null,
    gap_days integer not null,
    delta integer not null
) on commit drop
"""

_REMOVE_VISITOR_DAYS = """
with removed as (
    delete from visitor_activity_days as days
    using {visitors} as visitors
    where
        days.anonymous_id = visitors.anonymous_id
        and days.activity_date >= visitors.first_date
        and days.kind = any(%(kinds)s::text[])
    returning
        days.kind,
        days.activity_date,
        days.item,
        days.gap_days
)

insert into {changes} (kind, activity_date, item, gap_days, delta)
select
    kind,
    activity_date,
    item,
    gap_days,
    -1
from removed
"""

# The visitors' product events since their first date, with the days they make of each kind.
_EVENT_DAYS = """
days as (
    select distinct
        anonymous_id,
        'event' as kind,
        '' as item,
        event_date as activity_date
    from events
    union all
    select distinct
        anonymous_id,
        event_type as kind,
        product_id as item,
        event_date as activity_date
    from product_events
    union all
    select distinct
        anonymous_id,
        'any_' || event_type as kind,
        '' as item,
        event_date as activity_date
    from product_events
)
"""

_CATEGORY_DAYS = """
days as (
    select distinct
        events.anonymous_id,
        'category_' || events.event_type as kind,
        coalesce(products.category, '') as item,
        events.event_date as activity_date
    from product_events as events
    left join dim_product as products on products.product_id = events.product_id
)
"""

# After _REMOVE_VISITOR_DAYS: a visitor's rows of these kinds left in visitor_activity_days are
# those before its first date, so the latest of them is the day before a chain's first day since.
_NEW_VISITOR_DAYS = """
create temp table {new_days} on commit drop as
with events as (
    {events}
),

product_events as (
    select *
    from events
    where
        product_id is not null
        and event_type in ('view', 'add_to_cart', 'purchase')
),

{days},

days_with_previous as (
    select
        *,
        lag(activity_date) over (
            partition by anonymous_id collate "C", kind collate "C", item collate "C"
            order by activity_date
        ) as previous_date
    from days
),

chained as (
    select
        days.anonymous_id,
        days.kind,
        days.item,
        days.activity_date,
        coalesce(
            days.activity_date - coalesce(
                days.previous_date,
                (
                    select max(kept.activity_date)
                    from visitor_activity_days as kept
                    where
                        kept.anonymous_id = days.anonymous_id
                        and kept.kind = days.kind
                        and kept.item = days.item
                )
            ),
            0
        ) as gap_days
    from days_with_previous as days
)

select * from chained
"""

_INSERT_VISITOR_DAYS = """
insert into visitor_activity_days (anonymous_id, kind, item, activity_date, gap_days)
select
    anonymous_id,
    kind,
    item,
    activity_date,
    gap_days
from {new_days}
"""

_VISITOR_GAP_DELTAS = """
create temp table {deltas} on commit drop as
with changes as (
    select
        kind,
        activity_date,
        item,
        gap_days,
        delta
    from {changes}
    union all
    select
        kind,
        activity_date,
        item,
        gap_days,
        1 as delta
    from {new_days}
)

select
    kind,
    activity_date,
    item,
    gap_days,
    sum(delta)::integer as delta
from changes
group by
    kind,
    activity_date,
    item,
    gap_days
having sum(delta) <> 0
"""

_APPLY_VISITOR_GAPS = """
insert into agg_daily_visitor_gaps as agg (kind, activity_date, item, gap_days, count_visitors)
select
    kind,
    activity_date,
    item,
    gap_days,
    delta
from {deltas}
on conflict (kind, activity_date, item, gap_days) do update
set count_visitors = agg.count_visitors + excluded.count_visitors
"""

_DROP_EMPTY_VISITOR_GAPS = """
delete from agg_daily_visitor_gaps as agg
using {deltas} as deltas
where
    agg.kind = deltas.kind
    and agg.activity_date = deltas.activity_date
    and agg.item = deltas.item
    and agg.gap_days = deltas.gap_days
    and agg.count_visitors = 0
"""


# The events of the visitors in ``{visitors}`` since their first date (the columns days need).
_VISITOR_EVENTS = """select
        facts.anonymous_id,
        facts.event_date,
        facts.event_type,
        facts.product_id
    from {visitors} as visitors
    inner join fact_events as facts
        on
            facts.anonymous_id = visitors.anonymous_id
            and facts.ts >= visitors.first_date::timestamp at time zone 'UTC'
            and facts.event_date >= visitors.first_date
"""

# The same for touched_visitors, already read into touched_visitor_events.
_TOUCHED_EVENTS = """select
        anonymous_id,
        event_date,
        event_type,
        product_id
    from touched_visitor_events"""


def _replace_visitor_days(cur: psycopg.Cursor[Any], visitors: str, categories: bool) -> None:
    """Replace the visitors' days of one group of kinds from their first_date on (see above)."""
    group = "category" if categories else "event"
    names = {
        "visitors": visitors,
        "changes": f"{group}_day_changes",
        "new_days": f"new_{group}_days",
        "deltas": f"{group}_gap_deltas",
        "days": _CATEGORY_DAYS if categories else _EVENT_DAYS,
        "events": _VISITOR_EVENTS.format(visitors=visitors) if categories else _TOUCHED_EVENTS,
    }
    kinds = list(CATEGORY_KINDS if categories else EVENT_KINDS)
    cur.execute(_CREATE_VISITOR_DAY_CHANGES.format(**names))
    cur.execute(_REMOVE_VISITOR_DAYS.format(**names), {"kinds": kinds})
    cur.execute(_NEW_VISITOR_DAYS.format(**names))
    cur.execute(_INSERT_VISITOR_DAYS.format(**names))
    cur.execute(_VISITOR_GAP_DELTAS.format(**names))
    cur.execute(_APPLY_VISITOR_GAPS.format(**names))
    cur.execute(_DROP_EMPTY_VISITOR_GAPS.format(**names))


# apply_categories: products whose category is not (or not yet) the one their days were counted
# under; for those already counted, every visitor of the product from its first day.
_RECATEGORIZED = """
create temp table recategorized_products on commit drop as
select
    products.product_id,
    coalesce(products.category, '') as category,
    counted.product_id is not null as was_counted
from dim_product as products
left join visitor_category_products as counted on counted.product_id = products.product_id
where counted.category is distinct from coalesce(products.category, '')
"""

_CATEGORY_VISITORS = """
create temp table category_visitors on commit drop as
with visitors as (
    select
        anonymous_id,
        first_date
    from touched_visitors
    union all
    select distinct
        facts.anonymous_id,
        date '0001-01-01' as first_date
    from recategorized_products as products
    inner join agg_daily_product_visitors as facts on facts.product_id = products.product_id
    where products.was_counted
)

select
    anonymous_id,
    min(first_date) as first_date
from visitors
group by anonymous_id
"""

_COUNT_CATEGORIES = """
insert into visitor_category_products (product_id, category)
select
    product_id,
    category
from recategorized_products
on conflict (product_id) do update
set category = excluded.category
"""


def apply_categories(cur: psycopg.Cursor[Any]) -> None:
    """sql/005's category days, once dim_product has the run's products (after ``apply``)."""
    cur.execute(_RECATEGORIZED)
    cur.execute(_COUNT_CATEGORIES)
    cur.execute(_CATEGORY_VISITORS)
    cur.execute("analyze category_visitors")
    _replace_visitor_days(cur, "category_visitors", categories=True)


_AGG_DAILY_PRODUCTS = """
insert into agg_daily_products (
    event_date,
    product_id,
    currency,
    count_views,
    count_add_to_carts,
    count_purchases,
    units,
    revenue
)
select
    event_date,
    product_id,
    currency,
    sum(count_views)::integer as count_views,
    sum(count_add_to_carts)::integer as count_add_to_carts,
    sum(count_purchases)::integer as count_purchases,
    sum(units)::integer as units,
    sum(revenue) as revenue
from agg_daily_product_visitors
where event_date = any(%(dates)s::date[])
group by
    event_date,
    product_id,
    currency
"""


# sql/005's session rollups of a set of session dates, from agg_daily_sessions (already replaced
# for those dates), fact_sessions and fact_session_revenue.
_SESSION_ROLLUPS = (
    """
    insert into agg_daily_slices (
        session_date,
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
    select
        session_date,
        device_type,
        country,
        channel,
        sum(count_sessions)::integer,
        sum(count_engaged_sessions)::integer,
        sum(count_page_views)::integer,
        sum(count_events)::integer,
        sum(sum_duration_s),
        sum(count_funnel_view)::integer,
        sum(count_funnel_cart)::integer,
        sum(count_funnel_checkout)::integer,
        sum(count_funnel_purchase)::integer
    from agg_daily_sessions
    where session_date = any(%(dates)s::date[])
    group by
        session_date,
        device_type,
        country,
        channel
    """,
    """
    insert into agg_daily_segments (
        session_date,
        segment_by,
        segment,
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
    with slices as (
        select *
        from agg_daily_slices
        where session_date = any(%(dates)s::date[])
    ),

    segment_rows as (
        select '' as segment_by, '' as segment, * from slices
        union all
        select 'device' as segment_by, device_type as segment, * from slices
        union all
        select 'channel' as segment_by, channel as segment, * from slices
        union all
        select 'country' as segment_by, country as segment, * from slices
    )

    select
        session_date,
        segment_by,
        segment,
        sum(count_sessions)::integer,
        sum(count_engaged_sessions)::integer,
        sum(count_page_views)::integer,
        sum(count_events)::integer,
        sum(sum_duration_s),
        sum(count_funnel_view)::integer,
        sum(count_funnel_cart)::integer,
        sum(count_funnel_checkout)::integer,
        sum(count_funnel_purchase)::integer
    from segment_rows
    group by
        session_date,
        segment_by,
        segment
    """,
    """
    insert into agg_hourly_sessions (session_date, start_hour, count_sessions)
    select
        session_date,
        start_hour,
        sum(count_sessions)::integer
    from agg_daily_sessions
    where session_date = any(%(dates)s::date[])
    group by
        session_date,
        start_hour
    """,
    """
    insert into agg_daily_landings (
        session_date,
        device_type,
        country,
        channel,
        referrer_host,
        utm_source,
        utm_medium,
        utm_campaign,
        count_sessions,
        count_engaged_sessions,
        count_purchase_sessions
    )
    select
        session_date,
        device_type,
        coalesce(country, ''),
        channel,
        coalesce(landing_referrer_host, ''),
        utm_source,
        utm_medium,
        utm_campaign,
        count(*)::integer,
        (count(*) filter (where is_engaged))::integer,
        (count(*) filter (where funnel_step = 4))::integer
    from fact_sessions
    where session_date = any(%(dates)s::date[])
    group by 1, 2, 3, 4, 5, 6, 7, 8
    """,
    """
    insert into agg_daily_landings_all (
        session_date,
        channel,
        referrer_host,
        utm_source,
        utm_medium,
        utm_campaign,
        count_sessions,
        count_engaged_sessions,
        count_purchase_sessions
    )
    select
        session_date,
        channel,
        referrer_host,
        utm_source,
        utm_medium,
        utm_campaign,
        sum(count_sessions)::integer,
        sum(count_engaged_sessions)::integer,
        sum(count_purchase_sessions)::integer
    from agg_daily_landings
    where session_date = any(%(dates)s::date[])
    group by 1, 2, 3, 4, 5, 6
    """,
    """
    insert into agg_daily_landing_revenue (
        session_date,
        device_type,
        country,
        channel,
        referrer_host,
        utm_source,
        utm_medium,
        utm_campaign,
        currency,
        revenue
    )
    select
        sessions.session_date,
        sessions.device_type,
        coalesce(sessions.country, ''),
        sessions.channel,
        coalesce(sessions.landing_referrer_host, ''),
        sessions.utm_source,
        sessions.utm_medium,
        sessions.utm_campaign,
        revenue.currency,
        sum(revenue.revenue)
    from fact_sessions as sessions
    inner join fact_session_revenue as revenue on revenue.session_id = sessions.session_id
    where sessions.session_date = any(%(dates)s::date[])
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
    """,
)
SESSION_ROLLUP_TABLES = (
    "agg_daily_slices",
    "agg_daily_segments",
    "agg_hourly_sessions",
    "agg_daily_landings",
    "agg_daily_landings_all",
    "agg_daily_landing_revenue",
)


def _update_session_rollups(cur: psycopg.Cursor[Any], session_dates: list[date]) -> None:
    for table in SESSION_ROLLUP_TABLES:
        cur.execute(f"delete from {table} where session_date = any(%s::date[])", (session_dates,))
    for statement in _SESSION_ROLLUPS:
        cur.execute(statement, {"dates": session_dates})


def _update_dashboard_rollups(cur: psycopg.Cursor[Any], activity_dates: list[date]) -> None:
    """sql/005's tables of the events for the (date, visitor) pairs in touched_visitor_days."""
    _replace_visitor_days(cur, "touched_visitors", categories=False)
    cur.execute("delete from agg_daily_products where event_date = any(%s::date[])", (activity_dates,))
    cur.execute(_AGG_DAILY_PRODUCTS, {"dates": activity_dates})


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
    _update_session_rollups(cur, session_dates)

    cur.execute(_TOUCHED_VISITOR_DAYS)
    cur.execute("analyze touched_visitor_days")
    cur.execute(_TOUCHED_VISITORS)
    cur.execute("analyze touched_visitors")
    cur.execute(_TOUCHED_VISITOR_EVENTS)
    cur.execute("analyze touched_visitor_events")
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
    _update_dashboard_rollups(cur, sorted(activity_dates))
    return SessionChanges(
        sessions_replaced=sessions_replaced,
        sessions_written=sessions_written,
        events_resessioned=events_resessioned,
        dates=sorted(set(session_dates) | activity_dates),
    )
