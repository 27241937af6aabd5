-- Each new event's session, for the insert into fact_events (temp table new_event_sessions).
-- grain: one row per new event
create temp table new_event_sessions on commit drop as
select
    events.event_id,
    keys.session_id
from session_events as events
inner join session_keys as keys on keys.session_number = events.session_number
where events.is_new
