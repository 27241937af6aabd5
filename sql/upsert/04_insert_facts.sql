-- The new rows into fact_events with the session sessionize.plan gave each, a visitor's events
-- together (see clickstream/pipeline/load.py). Slots: columns (fact_events' staged columns),
-- staged_columns (the same columns of stage_new as staged).
-- The narrow rows of new_event_sessions are sorted (by event_number: anonymous_id collate "C",
-- ts, event_id) and each fetches its wide row from stage_new by ctid (a TID scan; offset 0 keeps
-- the planner from hashing the wide rows and sorting them again, a sort larger than work_mem).
insert into fact_events ({columns}, session_id)
select
    {staged_columns},
    sessions.session_id
from new_event_sessions as sessions
cross join lateral (
    select *
    from stage_new
    where stage_new.ctid = sessions.row_id
    offset 0
) as staged
order by sessions.event_number
