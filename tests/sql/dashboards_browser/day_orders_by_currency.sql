-- Per currency, the orders and revenue of the sessions of one day (and device type, as
-- day_sessions.sql): an order in the currency of its first line (DESIGN.md "Order").
with purchases as (
    select
        e.session_id,
        coalesce(e.currency, '') as currency,
        e.revenue,
        nullif(btrim(e.props ->> 'order_id'), '') as order_id,
        row_number() over (
            partition by e.session_id, nullif(btrim(e.props ->> 'order_id'), '') order by e.ts, e.event_id
        ) as line_number
    from fact_events as e
    join fact_sessions as s on s.session_id = e.session_id
    where e.event_type = 'purchase'
        and s.session_date = %(day)s and (%(device)s::text is null or s.device_type = %(device)s)
)

select
    currency,
    count(*) filter (where order_id is null or line_number = 1) as orders,
    coalesce(sum(revenue), 0) as revenue
from purchases
group by currency
order by currency
