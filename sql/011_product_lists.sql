-- 011: product list impressions and list clicks, for the click-through rate of the Products page
-- (DESIGN.md "Product"; GA4's item-list click-through rate). An impression event shows a list of
-- products (event_type 'impression', fact_events.props.item_list.product_ids); a list click is a
-- click event on a product (ecom) that names the list it came from (props.item_list). A product's
-- impressions are the impression events that showed it (once per event, however often its list
-- repeats it); its list clicks are those click events on it. CTR = list clicks / impressions.
--
-- Both tables are kept exact by SessionizeAndUpsert (clickstream/pipeline/product_lists.py, run in
-- sessionize.apply before the touched sessions are removed): each impression or list click of a
-- recomputed session moves from its stored session's slice to its new session's, and a new one
-- is added to its session's slice, so a run's changes are deltas proportional to what it touched.
-- The slice (device_type, country, channel) is that of the event's session, as in every
-- per-event aggregate of sql/003.
--
-- The tables are filled from the stored events once, after sql/functions/ is applied, by
-- sql/backfills/011_product_lists.sql (rebuild_product_lists(), sql/functions/). Nothing before
-- this migration was an impression, but a click may carry a props.item_list.

-- one row per (event_date, product_id, device_type, country, channel): the product's impressions
-- and list clicks in that slice (rows whose counts are both 0 are removed)
create table agg_daily_product_list_slices (
    event_date date not null,
    product_id text not null,
    device_type text not null,
    country text not null,                  -- '' when unknown
    channel text not null,
    count_impressions integer not null,     -- impression events whose list showed the product
    count_list_clicks integer not null,     -- click events on the product from a list
    primary key (event_date, product_id, device_type, country, channel)
);

-- one row per (event_date, product_id): agg_daily_product_list_slices summed over the slices (what
-- the Products page reads when no slice filter is set)
create table agg_daily_product_lists (
    event_date date not null,
    product_id text not null,
    count_impressions integer not null,
    count_list_clicks integer not null,
    primary key (event_date, product_id)
);
