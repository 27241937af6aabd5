-- The new rows into fact_events with the session sessionize.plan gave each, a visitor's events
-- together (see clickstream/pipeline/load.py). Slots: columns (fact_events' staged columns),
-- staged_columns (the same columns of stage_new as staged).
-- Only the narrow rows of new_event_sessions are sorted (event_number: the order anonymous_id
-- collate "C", ts, event_id), and each fetches its wide row from stage_new by ctid (a TID scan),
-- so the wide rows are neither hashed nor sorted (a sort larger than work_mem, on disk). The
-- offset 0 keep the planner from flattening the two subqueries: it would sort the wide rows.
insert into fact_events ({columns}, session_id)
select
    {staged_columns},
    sessions.session_id
from (
    select
        row_id,
        event_number,
        session_id
    from new_event_sessions
    order by event_number
    offset 0
) as sessions
cross join lateral (
    select *
    from stage_new
    where stage_new.ctid = sessions.row_id
    offset 0
) as staged
order by sessions.event_number
