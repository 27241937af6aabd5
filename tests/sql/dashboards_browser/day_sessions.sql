-- One day's sessions (of one device type, or all when device is null), from fact_sessions: how
-- many, engaged, purchasing, and their average duration.
select
    count(*),
    count(*) filter (where is_engaged),
    count(*) filter (where funnel_step = 4),
    avg(extract(epoch from session_end - session_start))
from fact_sessions
where session_date = %(day)s and (%(device)s::text is null or device_type = %(device)s)
