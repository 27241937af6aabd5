-- The events of the ranges, stored and new, numbered into sessions (temp table session_events).
-- grain: one row per event of the recomputed sessions
-- Every column a session or the aggregates need (order_id: a purchase's props.order_id, null
-- when it has none, DESIGN.md "Order"); stored_session_id is null for new (and unsessionized)
-- events. Slot: gap (as in 01).
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
        facts.browser,
        facts.os,
        facts.country,
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
        browser,
        os,
        country,
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
