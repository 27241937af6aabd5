-- agg_daily_visitor_gaps moves by the deltas. Slot: deltas.
insert into agg_daily_visitor_gaps as agg (kind, activity_date, item, gap_days, count_visitors)
select
    kind,
    activity_date,
    item,
    gap_days,
    delta
from {deltas}
on conflict (kind, activity_date, item, gap_days) do update
set count_visitors = agg.count_visitors + excluded.count_visitors
