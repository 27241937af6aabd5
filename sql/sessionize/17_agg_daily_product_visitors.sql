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

-- each event with its session's slice (a hash join on the sessions' ids), then grouped once: a
-- (date, visitor, session, product) has about one event, so counting per session first saves no
-- lookups; the counts are integers (not sums of bigints, which are numeric and far slower)
visitor_day_product_slices as (
    select
        events.activity_date,
        events.anonymous_id,
        events.product_id,
        sessions.device_type,
        coalesce(sessions.country, '') as country,
        sessions.channel,
        events.currency,
        events.event_type,
        events.qty,
        events.revenue
    from visitor_day_events as events
    inner join fact_sessions as sessions on sessions.session_id = events.session_id
    where
        events.product_id is not null
        and events.event_type in ('view', 'add_to_cart', 'purchase')
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
        (count(*) filter (where event_type = 'view'))::integer as count_views,
        (count(*) filter (where event_type = 'add_to_cart'))::integer as count_add_to_carts,
        (count(*) filter (where event_type = 'purchase'))::integer as count_purchases,
        coalesce(sum(qty) filter (where event_type = 'purchase'), 0)::integer as units,
        coalesce(sum(revenue) filter (where event_type = 'purchase'), 0) as revenue
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
