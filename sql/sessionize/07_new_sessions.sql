-- The recomputed sessions as fact_sessions has them (sql/003), its columns in the order of
-- 08_insert_sessions.sql (temp table new_sessions).
-- grain: one row per recomputed session
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

-- a session's first and last events with the attributes session_events leaves out, read by
-- event_id from fact_events (the run's new events are in it by now); a session's anonymous_id is
-- its first event's (grouping by it too would compare it in the sort)
boundary_events as (
    select
        events.session_number,
        events.is_session_start,
        events.is_session_end,
        facts.anonymous_id,
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
        facts.country
    from session_events as events
    inner join fact_events as facts on facts.event_id = events.event_id
    where events.is_session_start or events.is_session_end
),

first_events as (
    select *
    from boundary_events
    where is_session_start
),

last_events as (
    select *
    from boundary_events
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
        totals.count_purchases,
        first_events.browser,
        first_events.os
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
