-- DuckDB (bench/duckdb_reference.py): the sessions of the raw files in $glob, with the same
-- unique events and sessions as the warehouse: a line received more than 72 hours after its ts
-- is rejected, the first copy of an event_id (by received_at) kept, and a visitor's events
-- split at gaps over 30 minutes, ordered by ts then event_id.
-- grain: one row per session
create or replace temp table sessions as
with lines as (
    select * from read_json(
        $glob, format = 'newline_delimited', compression = 'gzip',
        columns = {
            event_id: 'VARCHAR',
            anonymous_id: 'VARCHAR',
            event_type: 'VARCHAR',
            ts: 'TIMESTAMPTZ',
            received_at: 'TIMESTAMPTZ'
        },
        ignore_errors = true, maximum_object_size = 65536
    )
    where event_id is not null and anonymous_id is not null and ts is not null
      and received_at - ts <= interval 72 hours
),
events as (
    select event_id, anonymous_id, ts from lines
    qualify row_number() over (partition by event_id order by received_at) = 1
),
marked as (
    select anonymous_id, ts, event_id,
           case when ts - lag(ts) over w > interval 30 minutes or lag(ts) over w is null
                then 1 else 0 end as starts
    from events
    window w as (partition by anonymous_id order by ts, event_id)
),
numbered as (
    select anonymous_id, ts,
           sum(starts) over (partition by anonymous_id order by ts, event_id rows unbounded preceding) as n
    from marked
)
select anonymous_id, n, min(ts) as session_start, max(ts) as session_end, count(*) as events
from numbered
group by anonymous_id, n
