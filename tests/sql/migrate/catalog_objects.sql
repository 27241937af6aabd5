-- The public schema's indexes, constraints, functions and aggregates, each as its definition.
-- grain: one row per index, constraint, function or aggregate
select 'index' as kind, indexname as name, indexdef as definition
from pg_indexes
where schemaname = 'public'
union all
select 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
from pg_constraint
where connamespace = 'public'::regnamespace
union all
select 'function', proname || '(' || pg_get_function_identity_arguments(oid) || ')', pg_get_functiondef(oid)
from pg_proc
where pronamespace = 'public'::regnamespace
    and prokind in ('f', 'p')
union all
select 'aggregate', proname || '(' || pg_get_function_identity_arguments(oid) || ')', pg_get_function_result(oid)
from pg_proc
where pronamespace = 'public'::regnamespace
    and prokind = 'a'
order by 1, 2
