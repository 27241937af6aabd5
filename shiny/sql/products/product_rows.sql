-- the product events of the selected dates: agg_daily_products without slice filters, else each
-- visitor's (agg_daily_product_visitors) in the selected slices
-- grain: one row per (event_date, product_id, currency), and per visitor and slice when sliced
select *
from {facts}
where event_date between %(start)s and %(end)s
    and {slices}
