-- The new days into visitor_activity_days. Slot: new_days.
insert into visitor_activity_days (anonymous_id, kind, item, activity_date, gap_days)
select
    anonymous_id,
    kind,
    item,
    activity_date,
    gap_days
from {new_days}
