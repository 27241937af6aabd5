-- per period: sessions, engagement, page views, duration and the funnel steps
-- grain: one row per period ('current', 'previous') with sessions
select
    case when session_date >= %(start)s then 'current' else 'previous' end as period,
    {session_measures}
from ({session_rows}) as session_rows
where session_date between %(prev_start)s and %(end)s
group by 1
