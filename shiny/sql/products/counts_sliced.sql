-- per key (a product, a category or a period, a column of the CTE rows) in the selected slices:
-- product views, the visitors who viewed / added to cart / bought, orders and units, each visitor
-- counted once from its rows of agg_daily_product_visitors in rows
-- grain: one row per key with product events
select
    {key},
    sum(views)::bigint as views,
    count(*) filter (where views > 0)::bigint as viewers,
    count(*) filter (where add_to_carts > 0)::bigint as adders,
    count(*) filter (where purchases > 0)::bigint as buyers,
    sum(purchases)::bigint as orders,
    sum(units)::bigint as units
from (
    select
        {key},
        anonymous_id,
        sum(count_views) as views,
        sum(count_add_to_carts) as add_to_carts,
        sum(count_purchases) as purchases,
        sum(units) as units
    from rows
    group by {key}, anonymous_id
) as visitors
group by {key}
