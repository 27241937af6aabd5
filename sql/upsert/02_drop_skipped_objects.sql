-- The rows of the objects not to load (already committed, or listed twice) leave stage_events.
-- Parameters: the skipped objects' batches and sources, two arrays of the same length.
delete from stage_events
where (batch, src) in (
    select skipped.batch, skipped.src
    from unnest(%s::integer[], %s::integer[]) as skipped (batch, src)
)
