-- distinct visitors with an event in one period, from sql/005's gaps (no slice filter): a visitor
-- counts on its first day in the period, the one whose previous day with an event is before it;
-- new visitors (DESIGN.md "New visitor") are those whose first-ever day with an event (gap 0: the
-- date of their first session) is in the period
-- grain: one row for the period, none when it has no visitors
select
    {period} as period,
    sum(count_visitors)::bigint as visitors,
    coalesce(sum(count_visitors) filter (where gap_days = 0), 0)::bigint as new_visitors
from agg_daily_visitor_gaps
where kind = 'event'
    and activity_date between {start} and {end}
    and (gap_days = 0 or activity_date - gap_days < {start})
having count(*) > 0
