-- The run's row in etl_runs, UPSERTED with its counts (what a re-run of the execution returns).
-- grain: one row per execution
insert into etl_runs (
    execution_name,
    hour,
    status,
    objects,
    lines_read,
    loaded,
    duplicates,
    rejected,
    quarantined,
    skipped_objects,
    dates_touched,
    sessions_replaced,
    sessions_written,
    events_resessioned,
    upserted_at
)
values (
    %(execution)s, %(hour)s, %(status)s, %(objects)s, %(lines_read)s, %(loaded)s,
    %(duplicates)s, %(rejected)s, %(quarantined)s, %(skipped_objects)s, %(dates)s,
    %(sessions_replaced)s, %(sessions_written)s, %(events_resessioned)s, now()
)
on conflict (execution_name) do update
set
    hour = excluded.hour,
    status = excluded.status,
    objects = excluded.objects,
    lines_read = excluded.lines_read,
    loaded = excluded.loaded,
    duplicates = excluded.duplicates,
    rejected = excluded.rejected,
    quarantined = excluded.quarantined,
    skipped_objects = excluded.skipped_objects,
    dates_touched = excluded.dates_touched,
    sessions_replaced = excluded.sessions_replaced,
    sessions_written = excluded.sessions_written,
    events_resessioned = excluded.events_resessioned,
    upserted_at = excluded.upserted_at
