-- agg_daily_sessions of the session dates in the dates parameter (their rows deleted before).
-- grain: one row per (session_date, start_hour, device_type, country, channel)
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
