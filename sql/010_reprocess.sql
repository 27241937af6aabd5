-- 010: reprocess (clickstream reprocess, docs/BOTS.md "Re-deriving the warehouse"). Each fact
-- keeps the receive partition of the raw object its row was loaded from, so that a reprocess of
-- a range of partitions replaces exactly what those partitions contributed, and each run says
-- which partitions it re-derived.

-- fact_events (one row per event_id): the receive hour of the raw partition it was loaded from
alter table fact_events add column source_partition timestamptz;

-- rows loaded before: the hour they were received, which is their partition's but for the
-- objects Firehose closes up to a minute into the next hour and objects put into another hour
update fact_events
set source_partition = date_trunc('hour', received_at at time zone 'UTC') at time zone 'UTC';

-- etl_runs (one row per execution): the partitions a reprocess re-derived (null: an hourly run)
alter table etl_runs
    add column reprocess_from timestamptz,
    add column reprocess_to timestamptz;
