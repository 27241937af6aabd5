-- Recomputes sql/005's tables from the aggregates of sql/003, fact_sessions,
-- fact_session_revenue and dim_product, for every date and every visitor, with the functions Upsert
-- calls for the dates and the visitors it touched, sql/011's product lists from fact_events
-- (rebuild_product_lists()) and sql/013's analyses (rebuild_analyses()). For sql/005's
-- backfill (sql/backfills/005_dashboard_rollups.sql) and for tests that write the aggregates
-- directly.
create or replace function rebuild_dashboard_rollups() returns void
language sql
as $$
truncate visitor_activity_days, agg_daily_visitor_gaps, visitor_category_products, agg_daily_products,
    agg_daily_slices, agg_daily_segments, agg_hourly_sessions, agg_daily_landings, agg_daily_landings_all,
    agg_daily_landing_revenue, agg_daily_tech, agg_daily_tech_revenue;

select refresh_session_rollups(array(
    select session_date from agg_daily_sessions
    union
    select session_date from fact_sessions
));

select refresh_daily_products(array(
    select distinct event_date
    from agg_daily_product_visitors
));

-- grain: one row per product: the category its 'category_' days are counted under
insert into visitor_category_products (product_id, category)
select
    product_id,
    coalesce(category, '')
from dim_product;

-- each visitor's chains of days from the start, by the function the load calls for the visitors it
-- touched (sql/functions/30_replace_visitor_days.sql)
select replace_visitor_days(
    'visitors_from_the_start',
    array[
        'event', 'view', 'add_to_cart', 'purchase', 'any_view', 'any_add_to_cart', 'any_purchase',
        'category_view', 'category_add_to_cart', 'category_purchase'
    ]
);

-- sql/011: product list impressions and list clicks, from fact_events and fact_sessions
select rebuild_product_lists();

-- sql/013's analyses (sql/functions/30_refresh_analyses.sql)
select rebuild_analyses();
$$;
