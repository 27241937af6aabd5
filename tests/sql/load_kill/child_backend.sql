-- The server process of the load the test's child runs (by its application_name): its pid, what
-- it waits on, its query and, while it copies, the tuples copied so far.
select
    activity.pid,
    activity.wait_event_type,
    activity.query,
    coalesce(copy.tuples_processed, 0)
from pg_stat_activity as activity
left join pg_stat_progress_copy as copy on copy.pid = activity.pid
where activity.application_name = %s
