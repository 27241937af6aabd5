-- distinct visitors with an event in one period, from sql/005's gaps (no slice filter): a visitor
-- counts on its first day in the period, the one whose previous day with an event is before it
-- grain: one row for the period, none when it has no visitors
select
    {period} as period,
    sum(count_visitors)::bigint as visitors
from agg_daily_visitor_gaps
where kind = 'event'
    and activity_date between {start} and {end}
    and (gap_days = 0 or activity_date - gap_days < {start})
having count(*) > 0
