-- The page views and orders of the sessions of one day (and device type, as day_sessions.sql).
select
    count(*) filter (where e.event_type = 'view'),
    count(*) filter (where e.event_type = 'purchase')
from fact_events as e
join fact_sessions as s on s.session_id = e.session_id
where s.session_date = %(day)s and (%(device)s::text is null or s.device_type = %(device)s)
