-- The CTEs seen and newest of 06_dim_product.sql and reprocess/05_dim_product.sql, over the
-- events of the table {events}: each product's first and last ts (seen) and its newest event,
-- by its latest ts, then the greatest event_id (newest; hash join, no big sort).
seen as (
    select
        product_id,
        min(ts) as first_seen_at,
        max(ts) as last_seen_at
    from {events}
    where product_id is not null
    group by product_id
),

newest as (
    select distinct on (events.product_id)
        events.product_id,
        events.category,
        events.price as last_price,
        events.currency,
        events.event_id as last_event_id
    from {events} as events
    inner join seen
        on
            seen.product_id = events.product_id
            and seen.last_seen_at = events.ts
    order by
        events.product_id,
        events.event_id desc
)
