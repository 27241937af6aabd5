-- The page views and orders of the sessions of one day (and device type, as day_sessions.sql):
-- orders are the distinct props.order_id of each session's purchases, one per purchase without one
-- (DESIGN.md "Order").
select
    count(*) filter (where e.event_type = 'view'),
    count(distinct (e.session_id, e.props ->> 'order_id')) filter (
        where e.event_type = 'purchase' and nullif(btrim(e.props ->> 'order_id'), '') is not null
    )
    + count(*) filter (where e.event_type = 'purchase' and nullif(btrim(e.props ->> 'order_id'), '') is null)
from fact_events as e
join fact_sessions as s on s.session_id = e.session_id
where s.session_date = %(day)s and (%(device)s::text is null or s.device_type = %(device)s)
