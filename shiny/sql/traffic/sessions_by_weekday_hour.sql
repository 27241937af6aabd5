-- sessions by ISO weekday (1 = Monday) and UTC start hour over the selected dates, from
-- agg_hourly_sessions without slice filters, else agg_daily_sessions in the selected slices
-- grain: one row per (iso_dow, start_hour) with sessions
select
    extract(isodow from session_date)::int as iso_dow,
    start_hour::int as start_hour,
    sum(count_sessions)::bigint as sessions
from {sessions}
where session_date between %(start)s and %(end)s
    and {slices}
group by 1, 2
order by 1, 2
