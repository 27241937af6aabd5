-- session counts by date and segment without slice filters: a few rows a day of agg_daily_segments
-- grain: one row per (session_date, segment) of the page's split ('' when it does not split)
select *
from agg_daily_segments
where segment_by = {segment_by}
