-- the hours the warehouse's data covers (DESIGN.md "Partial days"): the first and last session date
-- with their first and last session start hour (agg_hourly_sessions, every slice), and the hour up
-- to which the pipeline has committed every raw partition (etl_watermark)
-- grain: one row
with bounds as (
    select
        min(session_date) as first_date,
        max(session_date) as last_date
    from agg_hourly_sessions
),

first_hour as (
    select min(hourly.start_hour) as first_hour
    from agg_hourly_sessions as hourly
    inner join bounds on hourly.session_date = bounds.first_date
),

last_hour as (
    select max(hourly.start_hour) as last_hour
    from agg_hourly_sessions as hourly
    inner join bounds on hourly.session_date = bounds.last_date
)

select
    bounds.first_date,
    first_hour.first_hour,
    bounds.last_date,
    last_hour.last_hour,
    (select watermark_hour from etl_watermark) as watermark_hour
from bounds, first_hour, last_hour
