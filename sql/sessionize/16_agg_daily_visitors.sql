-- agg_daily_visitors of the touched (date, visitor) pairs (their rows deleted before).
-- grain: one row per (activity_date, anonymous_id, device_type, country, channel)
-- Slot: visitor_day_events (the CTE of visitor_day_events.sql).
insert into agg_daily_visitors (
    activity_date,
    anonymous_id,
    device_type,
    country,
    channel,
    count_events,
    count_page_views
)
with {visitor_day_events},

-- counted per session first: a session's slice is looked up once, not once per event; integer
-- counts, so that the sums below are bigint, not numeric
visitor_day_sessions as (
    select
        activity_date,
        anonymous_id,
        session_id,
        count(*)::integer as count_events,
        (count(*) filter (where event_type = 'view'))::integer as count_page_views
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
