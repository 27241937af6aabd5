-- bench/e2e.py: the bytes each warehouse table takes on disk after the bench load, its heap (with
-- TOAST and the free-space and visibility maps) and its indexes apart; the bookkeeping tables
-- (etl_*) and the migrator's are left out, as is the floor's table (bench/floor.py).
-- grain: one row per table of the public schema
select
    tables.relname as table_name,
    pg_table_size(tables.oid) as table_bytes,
    pg_indexes_size(tables.oid) as index_bytes
from pg_class as tables
inner join pg_namespace as schemas on schemas.oid = tables.relnamespace
where
    schemas.nspname = 'public'
    and tables.relkind in ('r', 'p')
    and tables.relname not like 'etl\_%'
    and tables.relname <> 'bench_floor_events'
order by tables.relname
