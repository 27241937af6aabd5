-- sessions by date, channel, referrer and UTM tags: agg_daily_landings_all without slice filters
-- (twenty times fewer rows), else agg_daily_landings in the selected slices
-- grain: one row per (session_date, channel, referrer_host, utm tags), and device and country when sliced
select *
from {landings}
where {slices}
