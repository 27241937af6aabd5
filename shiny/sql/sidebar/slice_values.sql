-- the device / country / channel combinations seen since a date, for the filter choices
-- grain: one row per (device_type, country, channel)
select
    device_type,
    country,
    channel
from agg_daily_slices
where session_date >= %(since)s
group by device_type, country, channel
