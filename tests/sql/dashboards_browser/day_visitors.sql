-- The visitors and product views of the events of one day (in sessions of the device type, as
-- day_sessions.sql).
select
    count(distinct e.anonymous_id),
    count(*) filter (where e.event_type = 'view' and e.product_id is not null)
from fact_events as e
join fact_sessions as s on s.session_id = e.session_id
where e.event_date = %(day)s and (%(device)s::text is null or s.device_type = %(device)s)
