-- The recomputed sessions' purchases into fact_session_revenue.
-- grain: one row per (recomputed session, currency)
insert into fact_session_revenue (
    session_id,
    currency,
    orders,
    units,
    revenue
)
with purchases as (
    select
        session_number,
        coalesce(currency, '') as currency,
        qty,
        revenue
    from session_events
    where event_type = 'purchase'
),

session_revenue as (
    select
        session_number,
        currency,
        count(*)::integer as orders,
        coalesce(sum(qty), 0)::integer as units,
        coalesce(sum(revenue), 0) as revenue
    from purchases
    group by
        session_number,
        currency
),

session_revenue_keyed as (
    select
        keys.session_id,
        session_revenue.currency,
        session_revenue.orders,
        session_revenue.units,
        session_revenue.revenue
    from session_revenue
    inner join session_keys as keys on keys.session_number = session_revenue.session_number
)

select * from session_revenue_keyed
