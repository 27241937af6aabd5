-- The events of 03_new_days.sql for the touched visitors, already read into touched_visitor_events.
select
        anonymous_id,
        event_date,
        event_type,
        product_id
    from touched_visitor_events
