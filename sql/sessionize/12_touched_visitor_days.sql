-- The (date, visitor) pairs with an event in a removed or inserted session (temp table).
-- grain: one row per (activity_date, anonymous_id)
create temp table touched_visitor_days on commit drop as
select distinct
    event_date as activity_date,
    anonymous_id
from session_events
