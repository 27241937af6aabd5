-- The facts that stay lose their session: SessionizeAndUpsert then seeds them with the new rows
-- (sql/sessionize/01_session_ranges.sql) and sessionizes every visitor from scratch.
-- grain: one row per fact that stays
update fact_events
set session_id = null
where session_id is not null
