-- What a run changes in sql/011's product list counts (temp table product_list_deltas), before the
-- touched sessions are removed: each impression and list click of a recomputed session (the
-- events of session_events, new and stored) counts +1 in its new session's slice and -1 in its
-- stored session's slice, when it had one. An event whose slice did not change cancels out.
-- grain: one row per (event_date, product_id, device_type, country, channel) whose counts change
create temp table product_list_deltas on commit drop as
with list_events as (
    select
        events.session_number,
        events.stored_session_id,
        events.event_date,
        events.event_type,
        facts.product_id,
        facts.props
    from session_events as events
    inner join fact_events as facts on facts.event_id = events.event_id
    where events.event_type in ('impression', 'click')
),

-- one row per (event, product) it counts for, as rebuild_product_lists() counts them
counted as (
    select
        list_events.session_number,
        list_events.stored_session_id,
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
        session_number,
        stored_session_id,
        event_date,
        product_id,
        0,
        1
    from list_events
    where event_type = 'click'
        and product_id is not null
        and jsonb_typeof(props -> 'item_list') = 'object'
),

-- a recomputed session's slice is its first event's (as 07_new_sessions.sql has it)
new_slices as (
    select
        session_number,
        device_type,
        coalesce(country, '') as country,
        channel
    from session_events
    where is_session_start
),

changes as (
    select
        counted.event_date,
        counted.product_id,
        new_slices.device_type,
        new_slices.country,
        new_slices.channel,
        counted.impressions,
        counted.list_clicks
    from counted
    inner join new_slices on new_slices.session_number = counted.session_number
    union all
    select
        counted.event_date,
        counted.product_id,
        stored.device_type,
        coalesce(stored.country, ''),
        stored.channel,
        -counted.impressions,
        -counted.list_clicks
    from counted
    inner join fact_sessions as stored on stored.session_id = counted.stored_session_id
)

select
    event_date,
    product_id,
    device_type,
    country,
    channel,
    sum(impressions)::integer as count_impressions,
    sum(list_clicks)::integer as count_list_clicks
from changes
group by 1, 2, 3, 4, 5
having sum(impressions) <> 0 or sum(list_clicks) <> 0
