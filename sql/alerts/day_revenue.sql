-- business alerts: revenue and orders per currency of the asked dates, in total and by slice
-- (the session's device, country and channel). Revenue is price x qty of purchase events.
-- grain: one row per (session_date, dimension, slice, currency); dimension 'total' has slice ''
with day_sessions as (
    select session_id, session_date, device_type, coalesce(country, '') as country, channel
    from fact_sessions
    where session_date = any(%(dates)s::date[])
),

purchases as (
    -- grain: one row per purchase event of those sessions
    select
        s.session_date,
        s.device_type,
        s.country,
        s.channel,
        coalesce(e.currency, '') as currency,
        coalesce(e.props ->> 'order_id', e.event_id::text) as order_id,
        coalesce(e.revenue, 0) as revenue
    from fact_events as e
    inner join day_sessions as s on s.session_id = e.session_id
    where e.event_type = 'purchase'
),

sliced as (
    select p.session_date, d.dimension, d.slice, p.currency, p.order_id, p.revenue
    from purchases as p
    cross join lateral (
        values ('total', ''), ('device', p.device_type), ('country', p.country), ('channel', p.channel)
    ) as d (dimension, slice)
)

select
    session_date,
    dimension,
    slice,
    currency,
    count(distinct order_id)::bigint as orders,
    sum(revenue)::numeric(16, 2) as revenue
from sliced
group by session_date, dimension, slice, currency
order by session_date, dimension, slice, currency
