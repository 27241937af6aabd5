-- The new rows into fact_events with the session sessionize.plan gave each, a visitor's events
-- together (see clickstream/pipeline/load.py). Slots: columns (fact_events' staged columns),
-- staged_columns (the same columns of stage_new as staged).
insert into fact_events ({columns}, session_id)
select
    {staged_columns},
    sessions.session_id
from stage_new as staged
inner join new_event_sessions as sessions on sessions.event_id = staged.event_id
order by staged.anonymous_id collate "C", staged.ts, staged.event_id
