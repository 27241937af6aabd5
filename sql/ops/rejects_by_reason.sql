-- Rejected lines by reason over every committed raw object (clickstream status).
select
    reason,
    sum(count_lines)::bigint as lines,
    count(distinct object_key)::bigint as objects
from etl_rejects
group by reason
order by lines desc, reason
