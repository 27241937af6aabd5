-- The stored events whose session changed get their new session id.
update fact_events
set session_id = moved.session_id
from (
    select
        events.event_id,
        keys.session_id
    from session_events as events
    inner join session_keys as keys on keys.session_number = events.session_number
    where
        not events.is_new
        and events.stored_session_id is distinct from keys.session_id
) as moved
where fact_events.event_id = moved.event_id
