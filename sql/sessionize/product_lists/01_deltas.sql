-- What a run changes in sql/011's product list counts (temp table product_list_deltas), before the
-- touched sessions are removed: each impression and list click of a recomputed session (the
-- events of session_events, new and stored) counts +1 in its new session's slice and -1 in its
-- stored session's slice, when it had one. An event whose slice did not change cancels out.
-- grain: one row per (event_date, product_id, device_type, country, channel) whose counts change
create temp table product_list_deltas on commit drop as
with list_events as (
    select
        events.session_number,
        events.event_date,
        events.event_type,
        facts.product_id,
        facts.item_list,
        stored.device_type as stored_device_type,
        stored.country as stored_country,
        stored.channel as stored_channel
    from session_events as events
    -- each looked up by its key, one event at a time (offset 0 keeps the planner from joining the
    -- whole tables), so the work follows the run's events, not the history
    cross join lateral (
        select
            f.product_id,
            f.props -> 'item_list' as item_list
        from fact_events as f
        where f.event_id = events.event_id
        offset 0
    ) as facts
    left join lateral (
        select
            s.device_type,
            coalesce(s.country, '') as country,
            s.channel
        from fact_sessions as s
        where s.session_id = events.stored_session_id
        offset 0
    ) as stored on true
    where events.event_type in ('impression', 'click')
),

-- one row per (event, product) it counts for, as rebuild_product_lists() counts them
counted as (
    select
        list_events.session_number,
        list_events.stored_device_type,
        list_events.stored_country,
        list_events.stored_channel,
        list_events.event_date,
        shown.product_id,
        1 as impressions,
        0 as list_clicks
    from list_events
    cross join lateral (
        select distinct jsonb_array_elements_text(list_events.item_list -> 'product_ids') as product_id
    ) as shown
    where list_events.event_type = 'impression'
        and jsonb_typeof(list_events.item_list -> 'product_ids') = 'array'
    union all
    select
        session_number,
        stored_device_type,
        stored_country,
        stored_channel,
        event_date,
        product_id,
        0,
        1
    from list_events
    where event_type = 'click'
        and product_id is not null
        and jsonb_typeof(item_list) = 'object'
),

-- a recomputed session's slice is its first event's, read by event_id (as 07_new_sessions.sql
-- has it: session_events is narrow; the run's new events are in fact_events by now)
new_slices as (
    select
        events.session_number,
        facts.device_type,
        coalesce(facts.country, '') as country,
        facts.channel
    from session_events as events
    inner join fact_events as facts on facts.event_id = events.event_id
    where events.is_session_start
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
        event_date,
        product_id,
        stored_device_type,
        stored_country,
        stored_channel,
        -impressions,
        -list_clicks
    from counted
    where stored_device_type is not null
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
