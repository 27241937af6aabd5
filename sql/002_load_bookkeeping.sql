-- 002: what the load needs to be exact on re-runs: the run's full result, and the event
-- that set a product's latest attributes.

-- etl_runs (one row per execution): the rest of what Upsert returns, so that a re-run of an
-- execution that already committed returns the same result without loading anything
alter table etl_runs
    add column quarantined integer not null default 0,
    add column skipped_objects integer not null default 0,  -- already committed by another execution
    add column dates_touched date[] not null default '{}';  -- event dates that received new rows

-- dim_product (one row per product): category, last_price and currency come from the newest
-- event, ordered by (ts, event_id), so that loading in any order gives the same row
alter table dim_product
    add column last_event_id uuid;
