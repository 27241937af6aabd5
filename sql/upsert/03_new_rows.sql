-- The run's rows that are not in the warehouse (temp table stage_new): each event_id's first
-- copy by (batch, src), picked on narrow rows (one sort in memory), then read whole by row id.
-- grain: one row per event_id of the run that is not in the warehouse
create temp table stage_new on commit drop as
with first_copies as (
    select distinct on (staged.event_id) staged.ctid as row_id
    from stage_events as staged
    where not exists (
        select
        from fact_events as facts
        where facts.event_id = staged.event_id
    )
    order by
        staged.event_id,
        staged.batch,
        staged.src
)

select staged.*
from stage_events as staged
where staged.ctid = any(array(select row_id from first_copies))
