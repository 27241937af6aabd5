-- Each new event's session, for the insert into fact_events (temp table new_event_sessions): the
-- event's row in stage_new (row_id, its ctid) and its number in the order the insert keeps
-- (event_number, 02_session_events.sql), so the insert sorts these narrow rows, not the wide ones.
-- grain: one row per new event
create temp table new_event_sessions on commit drop as
select
    events.row_id,
    events.event_number,
    keys.session_id
from session_events as events
inner join session_keys as keys on keys.session_number = events.session_number
where events.is_new
