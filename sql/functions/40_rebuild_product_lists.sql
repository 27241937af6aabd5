-- sql/011's tables recomputed from fact_events and fact_sessions, for every date: the migration's
-- backfill (sql/backfills/011_product_lists.sql), rebuild_dashboard_rollups(), and a check that
-- the deltas Upsert applies (clickstream/pipeline/product_lists.py) add up to this.
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
