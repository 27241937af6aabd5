-- The backfill of sql/011: product list impressions and list clicks from fact_events and
-- fact_sessions, for every date (sql/functions/40_rebuild_product_lists.sql).
select rebuild_product_lists();
