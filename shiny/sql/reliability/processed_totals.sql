-- objects and lines committed for the raw partitions received in a range of hours
-- grain: one row
select
    count(*)::bigint as objects,
    coalesce(sum(lines_read), 0)::bigint as lines_read,
    coalesce(sum(loaded), 0)::bigint as loaded,
    coalesce(sum(duplicates), 0)::bigint as duplicates,
    coalesce(sum(rejected), 0)::bigint as rejected,
    count(*) filter (where is_quarantined)::bigint as quarantined
from etl_processed_objects
where partition_hour between %(first_hour)s and %(last_hour)s
