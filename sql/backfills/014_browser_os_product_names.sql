-- The backfill of sql/014: agg_daily_tech, agg_daily_tech_revenue and agg_daily_segments' 'browser'
-- and 'os' rows of every session date, with the other session rollups of those dates, by the
-- function the load calls for the dates it touched (sql/functions/10_refresh_session_rollups.sql).
-- The stored sessions are all of unknown browser and OS.
select refresh_session_rollups(array(
    select session_date from agg_daily_sessions
    union
    select session_date from fact_sessions
));
