-- The gap rows the deltas brought to zero visitors are removed. Slot: deltas.
delete from agg_daily_visitor_gaps as agg
using {deltas} as deltas
where
    agg.kind = deltas.kind
    and agg.activity_date = deltas.activity_date
    and agg.item = deltas.item
    and agg.gap_days = deltas.gap_days
    and agg.count_visitors = 0
