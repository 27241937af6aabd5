-- per day of both periods: DAU and MAU (distinct visitors over the 30 days ending that day)
--
-- Each active day of a visitor covers the 30 days from it; only the part not covered by the
-- visitor's previous active day counts: +1 where it starts, -1 where it ends (the changes and
-- dau CTEs of traffic/active_users_rollups.sql or traffic/active_users_sliced.sql), and MAU is
-- the running sum of those changes.
with {activity},

daily_changes as (
    select
        day,
        sum(delta) as delta
    from changes
    group by day
),

days as (
    select day::date as day
    from generate_series(%(mau_start)s::date, %(end)s::date, interval '1 day') as day
),

mau as (
    select
        days.day,
        sum(coalesce(daily_changes.delta, 0)) over (order by days.day) as mau
    from days
    left join daily_changes on daily_changes.day = days.day
),

-- grain: one row per day from prev_start to end
final as (
    select
        mau.day,
        coalesce(dau.dau, 0)::bigint as dau,
        mau.mau::bigint as mau
    from mau
    left join dau on dau.day = mau.day
    where mau.day >= %(prev_start)s
)

select * from final order by day
