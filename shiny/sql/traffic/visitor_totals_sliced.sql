-- per period: distinct visitors with an event in it in the selected slices, and how many of them
-- are new (DESIGN.md "New visitor": their first-ever day with an event, in any slice, is in the
-- period; sql/005's gap-0 days of kind 'event', by sql/009's partial index)
with visitors as (
    select distinct
        case when activity_date >= %(start)s then 'current' else 'previous' end as period,
        anonymous_id collate "C" as anonymous_id  -- bytewise: sorts and hashes much faster
    from agg_daily_visitors
    where activity_date between %(prev_start)s and %(end)s
        and {slices}
),

first_days as (
    select
        case when activity_date >= %(start)s then 'current' else 'previous' end as period,
        anonymous_id collate "C" as anonymous_id
    from visitor_activity_days
    where kind = 'event'
        and gap_days = 0
        and activity_date between %(prev_start)s and %(end)s
)

-- grain: one row per period ('current', 'previous') with visitors
select
    visitors.period,
    count(*)::bigint as visitors,
    count(first_days.anonymous_id)::bigint as new_visitors
from visitors
left join first_days
    on
        first_days.anonymous_id = visitors.anonymous_id
        and first_days.period = visitors.period
group by visitors.period
