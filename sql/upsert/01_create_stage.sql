-- The temp table the run's staged batches are copied into: fact_events' columns, the batch and
-- the source object.
-- grain: one row per staged line of the run
create temp table stage_events (
    batch integer not null default 0,
    src integer not null,
    like fact_events including defaults
) on commit drop
