-- The list impressions (each distinct product an impression event showed) and list clicks (clicks
-- on a product that name their list) of one day's events, by event date, in the sessions of a
-- device type (as day_sessions.sql), from fact_events.
with day_events as (
    select e.event_id, e.event_type, e.product_id, e.props
    from fact_events as e
    join fact_sessions as s on s.session_id = e.session_id
    where e.event_date = %(day)s and (%(device)s::text is null or s.device_type = %(device)s)
),

shown as (
    select distinct day_events.event_id, listed.product_id
    from day_events
    cross join lateral jsonb_array_elements_text(day_events.props -> 'item_list' -> 'product_ids')
        as listed (product_id)
    where day_events.event_type = 'impression'
)

select
    (select count(*) from shown),
    (
        select count(*) from day_events
        where event_type = 'click' and product_id is not null and props ? 'item_list'
    )
