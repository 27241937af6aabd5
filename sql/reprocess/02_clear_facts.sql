-- The facts the re-derived partitions contributed (every fact up to the last one, and those of
-- unknown partition, when the reprocess starts at the beginning). Parameters: first, last.
-- grain: one row per deleted fact
delete from fact_events
where
    (source_partition <= %(last)s and (%(first)s::timestamptz is null or source_partition >= %(first)s))
    or (%(first)s::timestamptz is null and source_partition is null)
