-- The visitors' days since their first_date, with their gaps (temp table).
-- grain: one row per (visitor, kind, item, activity_date)
-- After 02: a visitor's rows of these kinds left in visitor_activity_days are those before its
-- first date, so the latest of them is the day before a chain's first day since.
-- Slots: new_days (the temp table made), events (the visitors' events since their first date,
-- a select), days (the CTE days: event_days.sql or category_days.sql).
create temp table {new_days} on commit drop as
with events as (
    {events}
),

product_events as (
    select *
    from events
    where
        product_id is not null
        and event_type in ('view', 'add_to_cart', 'purchase')
),

{days},

days_with_previous as (
    select
        *,
        lag(activity_date) over (
            partition by anonymous_id collate "C", kind collate "C", item collate "C"
            order by activity_date
        ) as previous_date
    from days
),

chained as (
    select
        days.anonymous_id,
        days.kind,
        days.item,
        days.activity_date,
        coalesce(
            days.activity_date - coalesce(
                days.previous_date,
                (
                    select max(kept.activity_date)
                    from visitor_activity_days as kept
                    where
                        kept.anonymous_id = days.anonymous_id
                        and kept.kind = days.kind
                        and kept.item = days.item
                )
            ),
            0
        ) as gap_days
    from days_with_previous as days
)

select * from chained
