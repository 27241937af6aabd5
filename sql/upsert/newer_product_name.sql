-- The naming condition of 06_dim_product.sql: the run's newest named event of the product is
-- newer than the one that named it (by ts, then event_id), or nothing named it yet.
(excluded.product_named_at, excluded.product_named_by)
> (dim_product.product_named_at, dim_product.product_named_by)
or dim_product.product_named_at is null
