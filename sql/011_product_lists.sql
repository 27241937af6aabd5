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

-- The backfill: sql/functions/40_rebuild_product_lists.sql as it was written with this migration
-- (functions are applied after the migrations; that file replaces this definition). Nothing
-- before this migration was an impression, but a click may carry a props.item_list.
create or replace function rebuild_product_lists() returns void
language sql
as $$
truncate agg_daily_product_list_slices, agg_daily_product_lists;

-- grain: one row per (event_date, product_id, device_type, country, channel)
insert into agg_daily_product_list_slices (
    event_date,
    product_id,
    device_type,
    country,
    channel,
    count_impressions,
    count_list_clicks
)
with list_events as (
    select
        event_id,
        session_id,
        event_date,
        event_type,
        product_id,
        props
    from fact_events
    where event_type in ('impression', 'click')
),

-- one row per (event, product) it counts for: each product an impression showed, once; the
-- product of a click that names its list
counted as (
    select
        list_events.session_id,
        list_events.event_date,
        shown.product_id,
        1 as impressions,
        0 as list_clicks
    from list_events
    cross join lateral (
        select distinct jsonb_array_elements_text(list_events.props -> 'item_list' -> 'product_ids') as product_id
    ) as shown
    where list_events.event_type = 'impression'
        and jsonb_typeof(list_events.props -> 'item_list' -> 'product_ids') = 'array'
    union all
    select
        session_id,
        event_date,
        product_id,
        0,
        1
    from list_events
    where event_type = 'click'
        and product_id is not null
        and jsonb_typeof(props -> 'item_list') = 'object'
)

select
    counted.event_date,
    counted.product_id,
    sessions.device_type,
    coalesce(sessions.country, '') as country,
    sessions.channel,
    sum(counted.impressions)::integer,
    sum(counted.list_clicks)::integer
from counted
inner join fact_sessions as sessions on sessions.session_id = counted.session_id
group by 1, 2, 3, 4, 5;

-- grain: one row per (event_date, product_id)
insert into agg_daily_product_lists (event_date, product_id, count_impressions, count_list_clicks)
select
    event_date,
    product_id,
    sum(count_impressions)::integer,
    sum(count_list_clicks)::integer
from agg_daily_product_list_slices
group by event_date, product_id;
$$;

select rebuild_product_lists();
