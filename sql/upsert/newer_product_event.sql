-- The condition of 06_dim_product.sql: the run's newest event of the product is newer than the
-- one that set the product's current attributes (by ts, then event_id; a product set before
-- sql/002 has no last_event_id and counts as the oldest of its ts).
(excluded.last_seen_at, excluded.last_event_id)
> (dim_product.last_seen_at, coalesce(dim_product.last_event_id, '00000000-0000-0000-0000-000000000000'::uuid))
