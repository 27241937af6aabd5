-- the etl_runs of the hours in a range: what each execution loaded, and when
-- grain: one row per execution (execution_name)
select
    execution_name,
    hour,
    status,
    objects,
    lines_read,
    loaded,
    duplicates,
    rejected,
    quarantined,
    sessions_replaced,
    started_at,
    upserted_at,
    finished_at
from etl_runs
where hour between %(first_hour)s and %(last_hour)s
order by hour, started_at
