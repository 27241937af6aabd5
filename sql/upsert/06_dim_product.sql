-- The products the run saw, merged into dim_product: first and last seen widened; category,
-- last_price, currency and last_event_id from the newest event (by ts, then event_id); the name
-- (sql/014) from the newest event that carries one (product_named_at, product_named_by: that event).
-- grain: one row per product the run saw
-- Slots: seen (seen_products.sql over stage_new), newer (newer_product_event.sql),
-- renamed (newer_product_name.sql).
with {seen},

-- the run's newest event of each product that carries a name (ecom.name)
named as (
    select distinct on (product_id)
        product_id,
        product_name,
        ts as product_named_at,
        event_id as product_named_by
    from stage_new
    where product_id is not null and product_name is not null
    order by
        product_id,
        ts desc,
        event_id desc
),

products as (
    select
        seen.product_id,
        newest.category,
        newest.last_price,
        newest.currency,
        seen.first_seen_at,
        seen.last_seen_at,
        newest.last_event_id,
        named.product_name,
        named.product_named_at,
        named.product_named_by
    from seen
    inner join newest on newest.product_id = seen.product_id
    left join named on named.product_id = seen.product_id
)

insert into dim_product (
    product_id,
    category,
    last_price,
    currency,
    first_seen_at,
    last_seen_at,
    last_event_id,
    product_name,
    product_named_at,
    product_named_by
)
select * from products
on conflict (product_id) do update
set
    first_seen_at = least(dim_product.first_seen_at, excluded.first_seen_at),
    last_seen_at = greatest(dim_product.last_seen_at, excluded.last_seen_at),
    category = case when {newer} then excluded.category else dim_product.category end,
    last_price = case when {newer} then excluded.last_price else dim_product.last_price end,
    currency = case when {newer} then excluded.currency else dim_product.currency end,
    last_event_id = case when {newer} then excluded.last_event_id else dim_product.last_event_id end,
    -- the run's newest named event names the product when it is newer than the one that did
    product_name = case
        when {renamed} then coalesce(excluded.product_name, dim_product.product_name)
        else dim_product.product_name
    end,
    product_named_at = case
        when {renamed} then coalesce(excluded.product_named_at, dim_product.product_named_at)
        else dim_product.product_named_at
    end,
    product_named_by = case
        when {renamed} then coalesce(excluded.product_named_by, dim_product.product_named_by)
        else dim_product.product_named_by
    end
