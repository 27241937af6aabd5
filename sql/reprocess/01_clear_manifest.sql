-- The manifest rows of the partitions a reprocess re-derives (their rejects and filtered counts
-- first: they reference the objects). Parameters: first (null: from the beginning), last.
-- grain: one statement per table, rows of processed objects in the partitions
with objects as (
    select object_key
    from etl_processed_objects
    where
        partition_hour <= %(last)s
        and (%(first)s::timestamptz is null or partition_hour >= %(first)s)
),

rejects as (
    delete from etl_rejects
    where object_key in (select object_key from objects)
),

filtered as (
    delete from etl_filtered
    where object_key in (select object_key from objects)
)

delete from etl_processed_objects
where object_key in (select object_key from objects)
