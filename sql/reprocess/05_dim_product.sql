-- dim_product from the facts that stay, as sql/upsert/06_dim_product.sql would build it from
-- them (the run's new rows merge in afterwards): first and last seen, attributes of the newest
-- event by (ts, event_id).
-- grain: one row per product in the facts that stay
-- Slot: seen (upsert/seen_products.sql over fact_events).
insert into dim_product (
    product_id,
    category,
    last_price,
    currency,
    first_seen_at,
    last_seen_at,
    last_event_id
)
with {seen}

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
