-- The public schema's relations and their columns, in order, as the catalog has them.
-- grain: one row per column of a table, view or materialized view
select
    relations.relname,
    relations.relkind,
    columns.attnum,
    columns.attname,
    format_type(columns.atttypid, columns.atttypmod) as column_type,
    columns.attnotnull,
    pg_get_expr(defaults.adbin, defaults.adrelid) as column_default
from pg_attribute as columns
inner join pg_class as relations on relations.oid = columns.attrelid
left join pg_attrdef as defaults on defaults.adrelid = columns.attrelid and defaults.adnum = columns.attnum
where relations.relnamespace = 'public'::regnamespace
    and relations.relkind in ('r', 'p', 'v', 'm')
    and columns.attnum > 0
    and not columns.attisdropped
order by 1, 3
