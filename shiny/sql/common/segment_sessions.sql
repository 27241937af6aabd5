-- per segment (device, channel or country) over the selected dates: the session measures
-- grain: one row per segment with sessions
select
    segment,
    {session_measures}
from ({session_rows}) as session_rows
where session_date between %(start)s and %(end)s
group by 1
