-- agg_daily_product_visitors of the touched (date, visitor) pairs (their rows deleted before).
-- grain: one row per (event_date, anonymous_id, product_id, device_type, country, channel, currency)
-- Slot: visitor_day_events (as in 16).
insert into agg_daily_product_visitors (
    event_date,
    anonymous_id,
    product_id,
    device_type,
    country,
    channel,
    currency,
    count_views,
    count_add_to_carts,
    count_purchases,
    units,
    revenue
)
with {visitor_day_events},

-- counted per session first, as in agg_daily_visitors
visitor_day_session_products as (
    select
        activity_date,
        anonymous_id,
        session_id,
        product_id,
        currency,
        count(*) filter (where event_type = 'view') as count_views,
        count(*) filter (where event_type = 'add_to_cart') as count_add_to_carts,
        count(*) filter (where event_type = 'purchase') as count_purchases,
        coalesce(sum(qty) filter (where event_type = 'purchase'), 0) as units,
        coalesce(sum(revenue) filter (where event_type = 'purchase'), 0) as revenue
    from visitor_day_events
    where
        product_id is not null
        and event_type in ('view', 'add_to_cart', 'purchase')
    group by
        activity_date,
        anonymous_id,
        session_id,
        product_id,
        currency
),

visitor_day_product_slices as (
    select
        products.*,
        sessions.device_type,
        coalesce(sessions.country, '') as country,
        sessions.channel
    from visitor_day_session_products as products
    inner join fact_sessions as sessions on sessions.session_id = products.session_id
),

daily as (
    select
        activity_date as event_date,
        anonymous_id,
        product_id,
        device_type,
        country,
        channel,
        currency,
        sum(count_views)::integer as count_views,
        sum(count_add_to_carts)::integer as count_add_to_carts,
        sum(count_purchases)::integer as count_purchases,
        sum(units)::integer as units,
        sum(revenue) as revenue
    from visitor_day_product_slices
    group by
        activity_date,
        anonymous_id,
        product_id,
        device_type,
        country,
        channel,
        currency
)

-- in primary-key order (bytewise, like the key's collation for these ids): local btree inserts
select * from daily
order by
    event_date,
    anonymous_id collate "C",
    product_id collate "C",
    device_type collate "C",
    country collate "C",
    channel collate "C",
    currency collate "C"
