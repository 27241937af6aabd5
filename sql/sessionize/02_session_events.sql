-- The events of the ranges, stored and new, numbered into sessions (temp table session_events).
-- grain: one row per event of the recomputed sessions
-- Narrow rows: the columns the sessions' totals, their revenue and the touched visitor days need
-- (the sort of the windows below is over every event of the run); a session's first and last
-- events' attributes (entry page, landing, slice) are read by event_id in 07_new_sessions.sql.
-- order_id: a purchase's props.order_id, null when it has none (DESIGN.md "Order").
-- stored_session_id is null for new (and unsessionized) events; row_id, a new event's ctid in
-- stage_new (the insert fetches its row by it), is null for stored ones. Slot: gap (as in 01).
create temp table session_events on commit drop as
with stored_events as (
    select
        facts.event_id,
        facts.session_id as stored_session_id,
        false as is_new,
        null::tid as row_id,
        facts.anonymous_id,
        facts.ts,
        facts.event_date,
        facts.event_type,
        facts.user_hash,
        facts.currency,
        facts.qty,
        facts.revenue,
        case
            when facts.event_type = 'purchase' then nullif(btrim(facts.props ->> 'order_id'), '')
        end as order_id
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
        ctid as row_id,
        anonymous_id,
        ts,
        event_date,
        event_type,
        user_hash,
        currency,
        qty,
        revenue,
        case
            when event_type = 'purchase' then nullif(btrim(props ->> 'order_id'), '')
        end as order_id
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
        coalesce(ts - previous_ts > interval {gap}, true) as is_session_start,
        coalesce(next_ts - ts > interval {gap}, true) as is_session_end
    from events_windowed
),

-- each event's session, numbered across the run: the session starts counted so far, and the
-- event's own number (the insert's order of the new events, 04_new_event_sessions.sql), both in
-- the order above, so the events are sorted once
events_sessionized as (
    select
        *,
        count(*) filter (where is_session_start) over run_events as session_number,
        count(*) over run_events as event_number
    from events_flagged
    window run_events as (
        order by anonymous_id collate "C", ts, event_id
        rows between unbounded preceding and current row
    )
)

select * from events_sessionized
