-- The recomputed sessions' purchases into fact_session_revenue (DESIGN.md "Order"): lines are
-- the purchase events, orders the distinct order ids among them (a purchase event without one is
-- an order of its own), each order counted in the currency of its first line.
-- grain: one row per (recomputed session, currency)
insert into fact_session_revenue (
    session_id,
    currency,
    orders,
    lines,
    units,
    revenue
)
with purchases as (
    select
        session_number,
        coalesce(currency, '') as currency,
        order_id,
        ts,
        event_id,
        qty,
        revenue
    from session_events
    where event_type = 'purchase'
),

-- an order's first line (ts, event_id) carries its currency; each line without an order id is one
purchases_flagged as (
    select
        *,
        order_id is null
        or row_number() over (
            partition by session_number, order_id
            order by ts, event_id
        ) = 1 as is_first_line
    from purchases
),

session_revenue as (
    select
        session_number,
        currency,
        (count(*) filter (where is_first_line))::integer as orders,
        count(*)::integer as lines,
        coalesce(sum(qty), 0)::integer as units,
        coalesce(sum(revenue), 0) as revenue
    from purchases_flagged
    group by
        session_number,
        currency
),

session_revenue_keyed as (
    select
        keys.session_id,
        session_revenue.currency,
        session_revenue.orders,
        session_revenue.lines,
        session_revenue.units,
        session_revenue.revenue
    from session_revenue
    inner join session_keys as keys on keys.session_number = session_revenue.session_number
)

select * from session_revenue_keyed
