-- per key (a product or a category, a column of the CTE rows) without slice filters: views, orders
-- and units of the rows of agg_daily_products in rows, and the visitors who viewed / added to cart /
-- bought from sql/005's gaps of the key's kinds, a visitor counted on its first day of the kind in
-- the selected dates
-- grain: one row per key with product events
select
    totals.{key},
    totals.views,
    coalesce(visitors.viewers, 0)::bigint as viewers,
    coalesce(visitors.adders, 0)::bigint as adders,
    coalesce(visitors.buyers, 0)::bigint as buyers,
    totals.orders,
    totals.units
from (
    select
        {key},
        sum(count_views)::bigint as views,
        sum(count_purchases)::bigint as orders,
        sum(units)::bigint as units
    from rows
    group by {key}
) as totals
left join (
    select
        item,
        sum(count_visitors) filter (where kind = {view}) as viewers,
        sum(count_visitors) filter (where kind = {add_to_cart}) as adders,
        sum(count_visitors) filter (where kind = {purchase}) as buyers
    from agg_daily_visitor_gaps
    where kind in ({view}, {add_to_cart}, {purchase})
        and activity_date between %(start)s and %(end)s
        and (gap_days = 0 or activity_date - gap_days < %(start)s)
    group by item
) as visitors on visitors.item = totals.{key}
