-- per period: distinct visitors with an event in it in the selected slices
-- grain: one row per period ('current', 'previous') with visitors
select
    case when activity_date >= %(start)s then 'current' else 'previous' end as period,
    count(distinct anonymous_id collate "C")::bigint as visitors
from agg_daily_visitors
where activity_date between %(prev_start)s and %(end)s
    and {slices}
group by 1
