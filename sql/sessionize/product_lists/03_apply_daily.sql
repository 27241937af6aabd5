-- The deltas summed over the slices, added to agg_daily_product_lists.
-- grain: one row per (event_date, product_id)
insert into agg_daily_product_lists as agg (
    event_date,
    product_id,
    count_impressions,
    count_list_clicks
)
with daily as (
    select
        event_date,
        product_id,
        sum(count_impressions)::integer as count_impressions,
        sum(count_list_clicks)::integer as count_list_clicks
    from product_list_deltas
    group by event_date, product_id
    having sum(count_impressions) <> 0 or sum(count_list_clicks) <> 0
)

select * from daily
on conflict (event_date, product_id) do update
set
    count_impressions = agg.count_impressions + excluded.count_impressions,
    count_list_clicks = agg.count_list_clicks + excluded.count_list_clicks
