-- The visitors' days of the kinds in the kinds parameter from their first_date on are removed,
-- each recorded as a -1 change. Slots: visitors (anonymous_id, first_date), changes.
with removed as (
    delete from visitor_activity_days as days
    using {visitors} as visitors
    where
        days.anonymous_id = visitors.anonymous_id
        and days.activity_date >= visitors.first_date
        and days.kind = any(%(kinds)s::text[])
    returning
        days.kind,
        days.activity_date,
        days.item,
        days.gap_days
)

insert into {changes} (kind, activity_date, item, gap_days, delta)
select
    kind,
    activity_date,
    item,
    gap_days,
    -1
from removed
