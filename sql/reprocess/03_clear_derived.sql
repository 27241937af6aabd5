-- Everything derived from fact_events, recomputed by the same transaction from the facts that
-- stay and the new rows (clickstream/pipeline/reprocess.py). delete, not truncate: dashboards
-- keep reading the committed warehouse until the reprocess commits. A new table derived from
-- the facts belongs here too (tests/e2e/test_reprocess.py compares with the reference).
-- grain: every row of each derived table (fact_session_revenue cascades from fact_sessions)
delete from fact_sessions;
delete from agg_daily_sessions;
delete from agg_daily_revenue;
delete from agg_daily_visitors;
delete from agg_daily_product_visitors;
delete from visitor_activity_days;
delete from agg_daily_visitor_gaps;
delete from visitor_category_products;
delete from agg_daily_products;
delete from agg_daily_slices;
delete from agg_daily_segments;
delete from agg_hourly_sessions;
delete from agg_daily_landings;
delete from agg_daily_landings_all;
delete from agg_daily_landing_revenue;
delete from agg_daily_product_list_slices;
delete from agg_daily_product_lists;
delete from agg_daily_tech;
delete from agg_daily_tech_revenue;
delete from retention_cohorts;
delete from retention_weeks;
delete from agg_retention;
delete from agg_retention_all;
delete from fact_searches;
delete from agg_daily_searches;
delete from agg_daily_searches_all;
delete from fact_session_paths;
delete from agg_daily_paths;
delete from agg_daily_paths_all;
delete from dim_product
