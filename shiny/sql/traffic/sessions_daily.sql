-- per day of the selected dates: sessions, engaged sessions, page views and duration
with days as (
    select day::date as day
    from generate_series(%(start)s::date, %(end)s::date, interval '1 day') as day
),

sessions as (
    select
        session_date as day,
        sum(count_sessions)::bigint as sessions,
        sum(count_engaged_sessions)::bigint as engaged_sessions,
        sum(count_page_views)::bigint as page_views,
        sum(sum_duration_s) as sum_duration_s
    from ({session_rows}) as session_rows
    where session_date between %(start)s and %(end)s
    group by session_date
),

-- grain: one row per day from start to end (zeros on a day without sessions)
final as (
    select
        days.day,
        coalesce(sessions.sessions, 0) as sessions,
        coalesce(sessions.engaged_sessions, 0) as engaged_sessions,
        coalesce(sessions.page_views, 0) as page_views,
        coalesce(sessions.sum_duration_s, 0) as sum_duration_s
    from days
    left join sessions on sessions.day = days.day
)

select * from final order by day
