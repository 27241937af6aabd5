-- grain: one row per staged line of the run: a fact_events row with its batch and source object
create temp table stage_events (
    batch integer not null default 0,
    src integer not null,
    like fact_events including defaults
) on commit drop
