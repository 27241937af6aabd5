-- grain: one row per (batch, src, event_date): the new rows each object loaded
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
