-- per key (product_id, or dim_product's category): list impressions and list clicks in the selected
-- dates (sql/011), from agg_daily_product_lists without slice filters, else from
-- agg_daily_product_list_slices in the selected slices. CTR = list_clicks / impressions.
-- grain: one row per key with impressions or list clicks
select
    {key_expr} as {key},
    sum(facts.count_impressions)::bigint as impressions,
    sum(facts.count_list_clicks)::bigint as list_clicks
from {facts} as facts
left join dim_product on dim_product.product_id = facts.product_id
where facts.event_date between %(start)s and %(end)s
    and {slices}
group by 1
