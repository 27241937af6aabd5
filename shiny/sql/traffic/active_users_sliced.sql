-- the activity, changes and dau of traffic/active_users_daily.sql in the selected slices, from
-- each visitor's active days (agg_daily_visitors)
activity as (
    select distinct
        activity_date,
        anonymous_id collate "C" as anonymous_id  -- bytewise: sorts and hashes much faster
    from agg_daily_visitors
    where activity_date between %(mau_start)s and %(end)s
        and {slices}
),

coverage as (
    select
        greatest(
            activity_date,
            lag(activity_date) over (partition by anonymous_id order by activity_date) + 30
        ) as covered_from,
        activity_date + 30 as covered_until
    from activity
),

-- grain: one row per start or end of a visitor's coverage
changes as (
    select covered_from as day, 1 as delta from coverage
    union all
    select covered_until as day, -1 as delta from coverage
),

-- grain: one row per active day
dau as (
    select
        activity_date as day,
        count(*) as dau
    from activity
    group by activity_date
)
