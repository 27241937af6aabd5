-- the product events of the selected dates with dim_product's category of the product: from
-- agg_daily_products without slice filters, else each visitor's (agg_daily_product_visitors) in the
-- selected slices
-- grain: one row per (event_date, product_id, currency), and per visitor and slice when sliced
select
    coalesce(dim_product.category, '') as category,
    facts.*
from {facts} as facts
left join dim_product on dim_product.product_id = facts.product_id
where facts.event_date between %(start)s and %(end)s
    and {slices}
