-- The backfill of sql/005: its tables (visitor days and gaps, daily products, the coarser session
-- rollups) computed from the stored aggregates, fact_sessions and fact_session_revenue, for every
-- date and visitor, by the current definition (sql/functions/90_rebuild_dashboard_rollups.sql).
select rebuild_dashboard_rollups();
