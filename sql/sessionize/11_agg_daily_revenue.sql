-- agg_daily_revenue of the session dates in the dates parameter (their rows deleted before).
-- grain: one row per (session_date, device_type, country, channel, currency)
insert into agg_daily_revenue (
    session_date,
    device_type,
    country,
    channel,
    currency,
    count_purchasing_sessions,
    orders,
    lines,
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
        revenue.lines,
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
        sum(lines)::integer as lines,
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
