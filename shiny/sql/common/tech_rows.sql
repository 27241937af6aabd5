-- session counts by date and slice in the selected slices, with the session's browser or OS as the
-- segment (sql/014)
-- grain: one row per (session_date, device_type, country, channel, browser, os)
select
    {segment} as segment,
    *
from agg_daily_tech
where {slices}
