-- The run's rows that are not new leave stage_events (renamed stage_new after it, load.py): the
-- later copies of an event_id (the first by (batch, src) stays) and the rows whose event_id is in
-- the warehouse. Picked on narrow rows (one sort in memory) and deleted by row id, so the few
-- rows that go are written, not the many that stay (no second copy of the run's wide rows).
with copies as (
    select
        staged.ctid as row_id,
        row_number() over (
            partition by staged.event_id
            order by staged.batch, staged.src
        ) as copy_number,
        facts.event_id is not null as is_stored
    from stage_events as staged
    left join fact_events as facts on facts.event_id = staged.event_id
)

delete from stage_events
where ctid = any(array(
    select row_id
    from copies
    where copy_number > 1 or is_stored
))
