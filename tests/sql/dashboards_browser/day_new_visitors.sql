-- The visitors of one day's events (in sessions of the device type, as day_sessions.sql) whose
-- first event ever is on that day: new visitors (DESIGN.md "New visitor").
with visitors as (
    select distinct e.anonymous_id
    from fact_events as e
    join fact_sessions as s on s.session_id = e.session_id
    where e.event_date = %(day)s and (%(device)s::text is null or s.device_type = %(device)s)
)

select count(*)
from visitors
where (select min(f.event_date) from fact_events as f where f.anonymous_id = visitors.anonymous_id) = %(day)s
