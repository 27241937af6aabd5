-- 005: what the dashboards need to read months of traffic exactly and fast: distinct visitors
-- from gaps between visitor-days, and coarser daily aggregates (below).
--
-- A distinct count over a date range cannot be summed from daily distinct counts, but it can
-- from each visitor-day's gap to the visitor's previous such day: a visitor is counted once in
-- [start, end] on its first day in it, which is the day in it whose previous day is before
-- start (or that has none). So the visitors with an event in [start, end] are
--     sum(count_visitors) where activity_date between start and end
--                           and (gap_days = 0 or activity_date - gap_days < start)
-- over agg_daily_visitor_gaps, whose rows are counted by (day, gap), not by visitor: a few
-- thousand rows for 90 days instead of a million. MAU (distinct visitors in the 30 days ending
-- each day) follows the same way. The gaps know nothing of the device / country / channel
-- filters (a visitor's previous day may be in another slice), so the dashboards use them when
-- no slice filter is set and agg_daily_visitors / agg_daily_product_visitors otherwise.
--
-- The kinds of day (a visitor's chain of days per kind and item):
--   'event'                     any event                                     item ''
--   'any_view', 'any_add_to_cart', 'any_purchase'   of any product           item ''
--   'view', 'add_to_cart', 'purchase'               of that product          item the product_id
--   'category_view', 'category_add_to_cart', 'category_purchase'
--                               of a product of that category                item the category
-- Product events are those agg_daily_product_visitors counts (product_id not null); a product's
-- category is dim_product's ('' when it has none), as the Products page shows it. Dates are UTC
-- event dates (event_date, activity_date).
--
-- Upsert keeps them exact in its transaction (clickstream/pipeline/sessionize.py): for each visitor whose
-- (date, visitor) pairs it touched, the visitor's days from the first touched date on are
-- replaced (their gaps recomputed from the visitor's events since then and the one day before,
-- looked up in visitor_activity_days), and agg_daily_visitor_gaps is adjusted by the rows
-- removed and inserted; agg_daily_products is replaced for every touched date. The category
-- days follow dim_product: visitor_category_products keeps the category each product's days
-- were counted under, and when dim_product changes it, every visitor of that product has its
-- category days replaced from its first day (rare: a product changing category).

-- one row per (visitor, kind, item, activity_date): a day on which the visitor did `kind`
create table visitor_activity_days (
    anonymous_id text not null,
    kind text not null,
    item text not null,                     -- product_id, category or '' (see the kinds above)
    activity_date date not null,
    gap_days integer not null,              -- days since the visitor's previous such day; 0 on its first
    primary key (anonymous_id, kind, item, activity_date)
);

-- one row per (kind, activity_date, item, gap_days): how many visitors had such a day
create table agg_daily_visitor_gaps (
    kind text not null,
    activity_date date not null,
    item text not null,
    gap_days integer not null,
    count_visitors integer not null,
    primary key (kind, activity_date, item, gap_days)
);

-- one row per product: the category its 'category_' days are counted under (dim_product's)
create table visitor_category_products (
    product_id text primary key,
    category text not null
);

-- one row per (event_date, product_id, currency): agg_daily_product_visitors summed over visitors
-- and slices (the additive numbers of the Products page when no slice filter is set)
create table agg_daily_products (
    event_date date not null,
    product_id text not null,
    currency text not null,                 -- '' when the events carry none
    count_views integer not null,
    count_add_to_carts integer not null,
    count_purchases integer not null,
    units integer not null,
    revenue numeric(16, 2) not null,
    primary key (event_date, product_id, currency)
);

-- Coarser session aggregates, so months of sessions are thousands of rows, not a million.
-- Each is replaced for every session_date a run touched, like agg_daily_sessions (sql/003).

-- one row per (session_date, device_type, country, channel): agg_daily_sessions without the hour
create table agg_daily_slices (
    session_date date not null,
    device_type text not null,
    country text not null,                  -- '' when unknown
    channel text not null,
    count_sessions integer not null,
    count_engaged_sessions integer not null,
    count_page_views integer not null,
    count_events integer not null,
    sum_duration_s double precision not null,
    count_funnel_view integer not null,
    count_funnel_cart integer not null,
    count_funnel_checkout integer not null,
    count_funnel_purchase integer not null,
    primary key (session_date, device_type, country, channel)
);

-- one row per (session_date, segment_by, segment): agg_daily_slices summed over every slice
-- (segment_by ''), by device_type, by channel and by country (segment '' when unknown): what the
-- pages read when no slice filter is set
create table agg_daily_segments (
    session_date date not null,
    segment_by text not null,               -- '', 'device', 'channel' or 'country'
    segment text not null,                  -- the device_type, channel or country; '' for segment_by ''
    count_sessions integer not null,
    count_engaged_sessions integer not null,
    count_page_views integer not null,
    count_events integer not null,
    sum_duration_s double precision not null,
    count_funnel_view integer not null,
    count_funnel_cart integer not null,
    count_funnel_checkout integer not null,
    count_funnel_purchase integer not null,
    primary key (session_date, segment_by, segment)
);

-- one row per (session_date, start_hour): sessions of every slice by UTC start hour
create table agg_hourly_sessions (
    session_date date not null,
    start_hour smallint not null,
    count_sessions integer not null,
    primary key (session_date, start_hour)
);

-- one row per session_date, slice, landing referrer host and UTM source / medium / campaign:
-- the Acquisition page's referrer and campaign tables (fact_sessions summed by date)
create table agg_daily_landings (
    session_date date not null,
    device_type text not null,
    country text not null,                  -- '' when unknown
    channel text not null,
    referrer_host text not null,            -- '' when none
    utm_source text,                        -- as fact_sessions has them (null when untagged)
    utm_medium text,
    utm_campaign text,
    count_sessions integer not null,
    count_engaged_sessions integer not null,
    count_purchase_sessions integer not null  -- funnel_step = 4
);
create index agg_daily_landings_date_idx on agg_daily_landings (session_date);

-- agg_daily_landings summed over the slices (device_type, country): what the pages read when no
-- slice filter is set
create table agg_daily_landings_all (
    session_date date not null,
    channel text not null,
    referrer_host text not null,
    utm_source text,
    utm_medium text,
    utm_campaign text,
    count_sessions integer not null,
    count_engaged_sessions integer not null,
    count_purchase_sessions integer not null
);
create index agg_daily_landings_all_date_idx on agg_daily_landings_all (session_date);

-- the same grain and currency: revenue of the sessions (fact_session_revenue summed by date)
create table agg_daily_landing_revenue (
    session_date date not null,
    device_type text not null,
    country text not null,
    channel text not null,
    referrer_host text not null,
    utm_source text,
    utm_medium text,
    utm_campaign text,
    currency text not null,                 -- '' for purchases that carry no ecom
    revenue numeric(16, 2) not null
);
create index agg_daily_landing_revenue_date_idx on agg_daily_landing_revenue (session_date);

-- Recomputes the tables of this file from the aggregates of sql/003, fact_sessions and
-- fact_session_revenue (the backfill below; tests that write those directly call it too).
create function rebuild_dashboard_rollups() returns void
language sql
as $$
truncate visitor_activity_days, agg_daily_visitor_gaps, visitor_category_products, agg_daily_products,
    agg_daily_slices, agg_daily_segments, agg_hourly_sessions, agg_daily_landings, agg_daily_landings_all,
    agg_daily_landing_revenue;

insert into agg_daily_slices
select
    session_date,
    device_type,
    country,
    channel,
    sum(count_sessions)::integer,
    sum(count_engaged_sessions)::integer,
    sum(count_page_views)::integer,
    sum(count_events)::integer,
    sum(sum_duration_s),
    sum(count_funnel_view)::integer,
    sum(count_funnel_cart)::integer,
    sum(count_funnel_checkout)::integer,
    sum(count_funnel_purchase)::integer
from agg_daily_sessions
group by session_date, device_type, country, channel;

insert into agg_daily_segments
with rows as (
    select '' as segment_by, '' as segment, * from agg_daily_slices
    union all
    select 'device', device_type, * from agg_daily_slices
    union all
    select 'channel', channel, * from agg_daily_slices
    union all
    select 'country', country, * from agg_daily_slices
)

select
    session_date,
    segment_by,
    segment,
    sum(count_sessions)::integer,
    sum(count_engaged_sessions)::integer,
    sum(count_page_views)::integer,
    sum(count_events)::integer,
    sum(sum_duration_s),
    sum(count_funnel_view)::integer,
    sum(count_funnel_cart)::integer,
    sum(count_funnel_checkout)::integer,
    sum(count_funnel_purchase)::integer
from rows
group by session_date, segment_by, segment;

insert into agg_hourly_sessions
select session_date, start_hour, sum(count_sessions)::integer
from agg_daily_sessions
group by session_date, start_hour;

insert into agg_daily_landings
select
    session_date,
    device_type,
    coalesce(country, ''),
    channel,
    coalesce(landing_referrer_host, ''),
    utm_source,
    utm_medium,
    utm_campaign,
    count(*)::integer,
    (count(*) filter (where is_engaged))::integer,
    (count(*) filter (where funnel_step = 4))::integer
from fact_sessions
group by 1, 2, 3, 4, 5, 6, 7, 8;

insert into agg_daily_landings_all
select
    session_date,
    channel,
    referrer_host,
    utm_source,
    utm_medium,
    utm_campaign,
    sum(count_sessions)::integer,
    sum(count_engaged_sessions)::integer,
    sum(count_purchase_sessions)::integer
from agg_daily_landings
group by 1, 2, 3, 4, 5, 6;

insert into agg_daily_landing_revenue
select
    sessions.session_date,
    sessions.device_type,
    coalesce(sessions.country, ''),
    sessions.channel,
    coalesce(sessions.landing_referrer_host, ''),
    sessions.utm_source,
    sessions.utm_medium,
    sessions.utm_campaign,
    revenue.currency,
    sum(revenue.revenue)
from fact_sessions as sessions
inner join fact_session_revenue as revenue on revenue.session_id = sessions.session_id
group by 1, 2, 3, 4, 5, 6, 7, 8, 9;

insert into visitor_category_products (product_id, category)
select product_id, coalesce(category, '')
from dim_product;

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

insert into agg_daily_visitor_gaps (kind, activity_date, item, gap_days, count_visitors)
select kind, activity_date, item, gap_days, count(*)::integer
from visitor_activity_days
group by kind, activity_date, item, gap_days;

insert into agg_daily_products (
    event_date, product_id, currency, count_views, count_add_to_carts, count_purchases, units, revenue
)
select
    event_date,
    product_id,
    currency,
    sum(count_views)::integer,
    sum(count_add_to_carts)::integer,
    sum(count_purchases)::integer,
    sum(units)::integer,
    sum(revenue)
from agg_daily_product_visitors
group by event_date, product_id, currency;
$$;

select rebuild_dashboard_rollups();
