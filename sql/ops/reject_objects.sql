-- Raw objects with rejected lines or a quarantined copy, each with its lines by reason
-- (clickstream.ops.inventory.reject_objects). Every filter is optional (null: no filter).
select
    p.object_key,
    p.partition_hour,
    p.execution_name,
    p.processed_at,
    p.lines_read,
    p.rejected,
    p.is_quarantined,
    coalesce(
        jsonb_object_agg(r.reason, r.count_lines) filter (where r.reason is not null),
        '{}'::jsonb
    ) as reasons
from etl_processed_objects as p
left join etl_rejects as r on r.object_key = p.object_key
where
    (p.rejected > 0 or p.is_quarantined)
    and (%(first)s::timestamptz is null or p.partition_hour >= %(first)s)
    and (%(last)s::timestamptz is null or p.partition_hour <= %(last)s)
    and (%(execution)s::text is null or p.execution_name = %(execution)s)
group by p.object_key
order by p.partition_hour, p.object_key
