-- Recomputes sql/005's tables from the aggregates of sql/003, fact_sessions,
-- fact_session_revenue and dim_product, for every date: the per-date rollups with the functions
-- Upsert calls for the dates it touched, and each visitor's chains of days from the start (Upsert
-- replaces those from fact_events, by visitor: clickstream/pipeline/sessionize.py). For the backfill of
-- sql/005 and for tests that write the aggregates directly.
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

-- grain: one row per (visitor, kind, item, activity_date), with its gap to the visitor's
-- previous such day
insert into visitor_activity_days (anonymous_id, kind, item, activity_date, gap_days)
with product_days as (
    select
        anonymous_id,
        product_id,
        event_date,
        sum(count_views) > 0 as viewed,
        sum(count_add_to_carts) > 0 as added,
        sum(count_purchases) > 0 as bought
    from agg_daily_product_visitors
    group by anonymous_id, product_id, event_date
),

category_days as (
    select
        product_days.anonymous_id,
        coalesce(categories.category, '') as category,
        product_days.event_date,
        bool_or(product_days.viewed) as viewed,
        bool_or(product_days.added) as added,
        bool_or(product_days.bought) as bought
    from product_days
    left join visitor_category_products as categories on categories.product_id = product_days.product_id
    group by 1, 2, 3
),

days as (
    select distinct anonymous_id, 'event' as kind, '' as item, activity_date
    from agg_daily_visitors
    union all
    select anonymous_id, 'view', product_id, event_date from product_days where viewed
    union all
    select anonymous_id, 'add_to_cart', product_id, event_date from product_days where added
    union all
    select anonymous_id, 'purchase', product_id, event_date from product_days where bought
    union all
    select distinct anonymous_id, 'any_view', '', event_date from product_days where viewed
    union all
    select distinct anonymous_id, 'any_add_to_cart', '', event_date from product_days where added
    union all
    select distinct anonymous_id, 'any_purchase', '', event_date from product_days where bought
    union all
    select anonymous_id, 'category_view', category, event_date from category_days where viewed
    union all
    select anonymous_id, 'category_add_to_cart', category, event_date from category_days where added
    union all
    select anonymous_id, 'category_purchase', category, event_date from category_days where bought
)

select
    anonymous_id,
    kind,
    item,
    activity_date,
    coalesce(
        activity_date - lag(activity_date) over (
            partition by anonymous_id, kind, item order by activity_date
        ),
        0
    ) as gap_days
from days;

-- grain: one row per (kind, activity_date, item, gap_days): how many visitors had such a day
insert into agg_daily_visitor_gaps (kind, activity_date, item, gap_days, count_visitors)
select kind, activity_date, item, gap_days, count(*)::integer
from visitor_activity_days
group by kind, activity_date, item, gap_days;
$$;
