-- The events of 03_new_days.sql for the visitors of a temp table (anonymous_id, first_date) since
-- their first date, with the columns the days need. Slot: visitors.
select
        facts.anonymous_id,
        facts.event_date,
        facts.event_type,
        facts.product_id
    from {visitors} as visitors
    inner join fact_events as facts
        on
            facts.anonymous_id = visitors.anonymous_id
            and facts.ts >= visitors.first_date::timestamp at time zone 'UTC'
            and facts.event_date >= visitors.first_date
