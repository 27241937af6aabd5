-- The deltas added to agg_daily_product_list_slices (a row appears on its first count).
-- grain: one row per (event_date, product_id, device_type, country, channel)
insert into agg_daily_product_list_slices as agg (
    event_date,
    product_id,
    device_type,
    country,
    channel,
    count_impressions,
    count_list_clicks
)
select
    event_date,
    product_id,
    device_type,
    country,
    channel,
    count_impressions,
    count_list_clicks
from product_list_deltas
on conflict (event_date, product_id, device_type, country, channel) do update
set
    count_impressions = agg.count_impressions + excluded.count_impressions,
    count_list_clicks = agg.count_list_clicks + excluded.count_list_clicks
