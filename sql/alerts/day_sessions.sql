-- business alerts: sessions, converting sessions and orders of the asked dates, in total and by
-- the dashboards' slices (device, country, channel: the session's). A converting session reached
-- purchase in the ordered funnel (the Acquisition page's conversion); an order is a distinct
-- props.order_id among the session's purchase events (a purchase without one is its own order).
-- grain: one row per (session_date, dimension, slice); dimension 'total' has slice ''
with day_sessions as (
    select
        session_id,
        session_date,
        device_type,
        coalesce(country, '') as country,
        channel,
        funnel_step = 4 as converted
    from fact_sessions
    where session_date = any(%(dates)s::date[])
),

session_orders as (
    -- grain: one row per (session, order)
    select distinct
        e.session_id,
        coalesce(e.props ->> 'order_id', e.event_id::text) as order_id
    from fact_events as e
    inner join day_sessions as s on s.session_id = e.session_id
    where e.event_type = 'purchase'
),

order_counts as (
    -- grain: one row per session with an order
    select session_id, count(*) as orders
    from session_orders
    group by session_id
),

sliced as (
    select s.session_date, d.dimension, d.slice, s.converted, coalesce(o.orders, 0) as orders
    from day_sessions as s
    left join order_counts as o on o.session_id = s.session_id
    cross join lateral (
        values ('total', ''), ('device', s.device_type), ('country', s.country), ('channel', s.channel)
    ) as d (dimension, slice)
)

select
    session_date,
    dimension,
    slice,
    count(*)::bigint as sessions,
    count(*) filter (where converted)::bigint as converting_sessions,
    sum(orders)::bigint as orders
from sliced
group by session_date, dimension, slice
order by session_date, dimension, slice
