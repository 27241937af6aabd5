-- The rows of a table of sql/011 that the deltas brought to zero are removed (a product and day
-- with no impression and no list click has no row, as rebuild_product_lists() makes it).
-- Slot: table (agg_daily_product_list_slices or agg_daily_product_lists).
delete from {table} as agg
using product_list_deltas as deltas
where agg.event_date = deltas.event_date
    and agg.product_id = deltas.product_id
    and agg.count_impressions = 0
    and agg.count_list_clicks = 0
