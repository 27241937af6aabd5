-- The backfill of sql/013: the analyses (retention, site search, paths) of every visitor of
-- fact_sessions, from the start (sql/functions/30_refresh_analyses.sql).
select rebuild_analyses();
