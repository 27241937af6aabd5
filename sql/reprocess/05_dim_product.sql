-- dim_product from the facts that stay, as sql/upsert/06_dim_product.sql would build it from
-- them (the run's new rows merge in afterwards): first and last seen, attributes of the newest
-- event by (ts, event_id).
-- grain: one row per product in the facts that stay
insert into dim_product (
    product_id,
    category,
    last_price,
    currency,
    first_seen_at,
    last_seen_at,
    last_event_id
)
with seen as (
    select
        product_id,
        min(ts) as first_seen_at,
        max(ts) as last_seen_at
    from fact_events
    where product_id is not null
    group by product_id
),

newest as (
    select distinct on (facts.product_id)
        facts.product_id,
        facts.category,
        facts.price as last_price,
        facts.currency,
        facts.event_id as last_event_id
    from fact_events as facts
    inner join seen
        on
            seen.product_id = facts.product_id
            and seen.last_seen_at = facts.ts
    order by
        facts.product_id,
        facts.event_id desc
)

select
    seen.product_id,
    newest.category,
    newest.last_price,
    newest.currency,
    seen.first_seen_at,
    seen.last_seen_at,
    newest.last_event_id
from seen
inner join newest on newest.product_id = seen.product_id
