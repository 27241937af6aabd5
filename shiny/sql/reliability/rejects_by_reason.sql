-- rejected lines by reason, for the raw partitions received in a range of hours
-- grain: one row per reason
select
    reason,
    sum(count_lines)::bigint as rejected_lines,
    count(distinct object_key)::bigint as objects
from etl_rejects
where partition_hour between %(first_hour)s and %(last_hour)s
group by reason
order by rejected_lines desc, reason
