-- The CTE days of 03_new_days.sql for the kinds of the events alone (EVENT_KINDS): 'event', and
-- per product event type, of that product and of any product.
-- grain: one row per (visitor, kind, item, activity_date)
days as (
    select distinct
        anonymous_id,
        'event' as kind,
        '' as item,
        event_date as activity_date
    from events
    union all
    select distinct
        anonymous_id,
        event_type as kind,
        product_id as item,
        event_date as activity_date
    from product_events
    union all
    select distinct
        anonymous_id,
        'any_' || event_type as kind,
        '' as item,
        event_date as activity_date
    from product_events
)
