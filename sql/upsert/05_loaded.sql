-- The new rows each object loaded, by event date (the run's counts and dates).
-- grain: one row per (batch, src, event_date)
select
    batch,
    src,
    event_date,
    count(*) as count_loaded
from stage_new
group by
    batch,
    src,
    event_date
