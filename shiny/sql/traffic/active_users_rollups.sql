-- the activity, changes and dau of traffic/active_users_daily.sql without slice filters, from
-- sql/005's gaps: each visitor-day comes with its previous active day, so no visitor is read
activity as (
    select
        activity_date,
        gap_days,
        count_visitors
    from agg_daily_visitor_gaps
    where kind = 'event'
        and activity_date between %(mau_start)s and %(end)s
),

-- visitors of the day whose previous active day is within 30 days are counted from 30 days after it
-- grain: one row per (day, gap) starting or ending a coverage
changes as (
    select
        case
            when gap_days = 0 or gap_days >= 30 then activity_date
            else activity_date - gap_days + 30
        end as day,
        count_visitors as delta
    from activity
    union all
    select
        activity_date + 30 as day,
        -count_visitors as delta
    from activity
),

-- grain: one row per active day
dau as (
    select
        activity_date as day,
        sum(count_visitors) as dau
    from activity
    group by activity_date
)
