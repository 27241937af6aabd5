-- The processed-object manifest: every raw object the run committed (executemany, one set of
-- parameters per object).
-- grain: one row per raw object
insert into etl_processed_objects (
    object_key,
    etag,
    size_bytes,
    partition_hour,
    execution_name,
    lines_read,
    loaded,
    duplicates,
    rejected,
    is_quarantined
)
values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
