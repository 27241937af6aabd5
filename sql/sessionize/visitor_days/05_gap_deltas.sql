-- How the counts of agg_daily_visitor_gaps change: the removed and added days summed (temp table).
-- grain: one row per (kind, activity_date, item, gap_days) whose count of visitors changes
-- Slots: deltas (the temp table made), changes, new_days.
create temp table {deltas} on commit drop as
with changes as (
    select
        kind,
        activity_date,
        item,
        gap_days,
        delta
    from {changes}
    union all
    select
        kind,
        activity_date,
        item,
        gap_days,
        1 as delta
    from {new_days}
)

select
    kind,
    activity_date,
    item,
    gap_days,
    sum(delta)::integer as delta
from changes
group by
    kind,
    activity_date,
    item,
    gap_days
having sum(delta) <> 0
