-- sql/005's agg_daily_products of a set of event dates, replaced from agg_daily_product_visitors
-- (already exact for them). Upsert calls it for the activity dates it touched
-- (clickstream/pipeline/sessionize.py), rebuild_dashboard_rollups() for every date. PL/pgSQL as
-- refresh_session_rollups: planned with the dates it is given.
create or replace function refresh_daily_products(dates date[]) returns void
language plpgsql
as $$
begin
    -- grain: one row per (event_date, product_id, currency)
    delete from agg_daily_products where event_date = any(dates);
    insert into agg_daily_products (
        event_date,
        product_id,
        currency,
        count_views,
        count_add_to_carts,
        count_purchases,
        units,
        revenue
    )
    select
        event_date,
        product_id,
        currency,
        sum(count_views)::integer as count_views,
        sum(count_add_to_carts)::integer as count_add_to_carts,
        sum(count_purchases)::integer as count_purchases,
        sum(units)::integer as units,
        sum(revenue) as revenue
    from agg_daily_product_visitors
    where event_date = any(dates)
    group by
        event_date,
        product_id,
        currency;
end
$$;
