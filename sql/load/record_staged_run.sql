-- The Sessionize state: the run's row in etl_runs (one row per execution) as STAGED, unless the
-- run got further already. Parameters: execution, hour, STAGED, STAGED.
insert into etl_runs (execution_name, hour, status)
values (%s, %s, %s)
on conflict (execution_name) do update
set hour = excluded.hour
where etl_runs.status = %s
returning status
