-- sql/005's (and sql/014's) session rollups of a set of session dates: the rows of those dates of
-- each table replaced from agg_daily_sessions (already exact for them), fact_sessions and
-- fact_session_revenue, in that order (agg_daily_segments reads agg_daily_slices and
-- agg_daily_tech, agg_daily_landings_all agg_daily_landings). Upsert calls it for the session dates it touched
-- (clickstream/pipeline/sessionize.py), rebuild_dashboard_rollups() for every date.
-- PL/pgSQL for its plans: each statement is planned with the dates it is given, as when it was
-- sent on its own (a SQL function would plan it for any dates).
create or replace function refresh_session_rollups(dates date[]) returns void
language plpgsql
as $$
begin
    -- grain: one row per (session_date, device_type, country, channel)
    delete from agg_daily_slices where session_date = any(dates);
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
    where session_date = any(dates)
    group by
        session_date,
        device_type,
        country,
        channel;

    -- grain: one row per (session_date, device_type, country, channel, browser, os) (sql/014)
    delete from agg_daily_tech where session_date = any(dates);
    insert into agg_daily_tech (
        session_date,
        device_type,
        country,
        channel,
        browser,
        os,
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
        coalesce(country, ''),
        channel,
        coalesce(browser, ''),
        coalesce(os, ''),
        count(*)::integer,
        (count(*) filter (where is_engaged))::integer,
        sum(count_page_views)::integer,
        sum(count_events)::integer,
        sum(duration_s),
        (count(*) filter (where funnel_step >= 1))::integer,
        (count(*) filter (where funnel_step >= 2))::integer,
        (count(*) filter (where funnel_step >= 3))::integer,
        (count(*) filter (where funnel_step = 4))::integer
    from fact_sessions
    where session_date = any(dates)
    group by 1, 2, 3, 4, 5, 6;

    -- grain: one row per (session_date, device_type, country, channel, browser, os, currency) (sql/014)
    delete from agg_daily_tech_revenue where session_date = any(dates);
    insert into agg_daily_tech_revenue (
        session_date,
        device_type,
        country,
        channel,
        browser,
        os,
        currency,
        count_purchasing_sessions,
        orders,
        units,
        revenue
    )
    select
        sessions.session_date,
        sessions.device_type,
        coalesce(sessions.country, ''),
        sessions.channel,
        coalesce(sessions.browser, ''),
        coalesce(sessions.os, ''),
        revenue.currency,
        count(*)::integer,
        sum(revenue.orders)::integer,
        sum(revenue.units)::integer,
        sum(revenue.revenue)
    from fact_sessions as sessions
    inner join fact_session_revenue as revenue on revenue.session_id = sessions.session_id
    where sessions.session_date = any(dates)
    group by 1, 2, 3, 4, 5, 6, 7;

    -- grain: one row per (session_date, segment_by, segment)
    delete from agg_daily_segments where session_date = any(dates);
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
        where session_date = any(dates)
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
        segment;

    -- grain: one row per (session_date, segment_by, segment) of segment_by 'browser' and 'os'
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
    with tech as (
        select *
        from agg_daily_tech
        where session_date = any(dates)
    ),

    segment_rows as (
        select 'browser' as segment_by, browser as segment, * from tech
        union all
        select 'os' as segment_by, os as segment, * from tech
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
        segment;

    -- grain: one row per (session_date, start_hour)
    delete from agg_hourly_sessions where session_date = any(dates);
    insert into agg_hourly_sessions (session_date, start_hour, count_sessions)
    select
        session_date,
        start_hour,
        sum(count_sessions)::integer
    from agg_daily_sessions
    where session_date = any(dates)
    group by
        session_date,
        start_hour;

    -- grain: one row per session_date, slice, landing referrer host and UTM source / medium / campaign
    delete from agg_daily_landings where session_date = any(dates);
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
    where session_date = any(dates)
    group by 1, 2, 3, 4, 5, 6, 7, 8;

    -- grain: one row per session_date, channel, referrer host and UTM source / medium / campaign
    delete from agg_daily_landings_all where session_date = any(dates);
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
    where session_date = any(dates)
    group by 1, 2, 3, 4, 5, 6;

    -- grain: one row per session_date, slice, landing referrer host, UTM values and currency
    delete from agg_daily_landing_revenue where session_date = any(dates);
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
    where sessions.session_date = any(dates)
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9;
end
$$;
