-- The CTE days of 03_new_days.sql for the category kinds (CATEGORY_KINDS), by dim_product.
-- grain: one row per (visitor, kind, category, activity_date)
days as (
    select distinct
        events.anonymous_id,
        'category_' || events.event_type as kind,
        coalesce(products.category, '') as item,
        events.event_date as activity_date
    from product_events as events
    left join dim_product as products on products.product_id = events.product_id
)
