-- Lines filtered as bot or spam traffic (docs/BOTS.md) by reason and family, for raw partitions
-- received in a range of hours; the share is of every line read in that range.
-- grain: one row per (reason, family)
with read as (
    select coalesce(sum(lines_read), 0)::bigint as lines_read
    from etl_processed_objects
    where partition_hour between %(first_hour)s and %(last_hour)s
)

select
    f.reason,
    f.family,
    sum(f.count_lines)::bigint as filtered_lines,
    count(distinct f.object_key)::bigint as objects,
    sum(f.count_lines)::float8 / nullif(max(read.lines_read), 0) as share_of_lines
from etl_filtered as f
cross join read
where f.partition_hour between %(first_hour)s and %(last_hour)s
group by f.reason, f.family
order by filtered_lines desc, f.reason, f.family
