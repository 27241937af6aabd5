-- session counts by date and slice in the selected slices, with the segment the page splits by
-- grain: one row per (session_date, device_type, country, channel)
select
    {segment} as segment,
    *
from agg_daily_slices
where {slices}
