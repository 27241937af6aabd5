-- business alerts: revenue and orders per currency of the asked dates, in total and by slice
-- (the session's device, country and channel). Revenue is price x qty of purchase events; an
-- order's value is the sum of its lines, and revenue_squares sums the orders' squared values
-- (the variance of a compound Poisson sum: how much revenue varies by chance).
-- grain: one row per (session_date, dimension, slice, currency); dimension 'total' has slice ''
with day_sessions as (
    select session_id, session_date, device_type, coalesce(country, '') as country, channel
    from fact_sessions
    where session_date = any(%(dates)s::date[])
),

orders as (
    -- grain: one row per (order, currency) of those sessions, with the session's slice
    select
        s.session_date,
        s.device_type,
        s.country,
        s.channel,
        coalesce(e.currency, '') as currency,
        coalesce(e.props ->> 'order_id', e.event_id::text) as order_id,
        sum(coalesce(e.revenue, 0)) as revenue
    from fact_events as e
    inner join day_sessions as s on s.session_id = e.session_id
    where e.event_type = 'purchase'
    group by 1, 2, 3, 4, 5, 6
),

sliced as (
    select o.session_date, d.dimension, d.slice, o.currency, o.order_id, o.revenue
    from orders as o
    cross join lateral (
        values ('total', ''), ('device', o.device_type), ('country', o.country), ('channel', o.channel)
    ) as d (dimension, slice)
)

select
    session_date,
    dimension,
    slice,
    currency,
    count(distinct order_id)::bigint as orders,
    sum(revenue)::numeric(16, 2) as revenue,
    sum(revenue * revenue)::numeric(28, 4) as revenue_squares
from sliced
group by session_date, dimension, slice, currency
order by session_date, dimension, slice, currency
