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
--
-- The tables are filled from the stored aggregates once, after sql/functions/ is applied, by
-- sql/backfills/005_dashboard_rollups.sql (rebuild_dashboard_rollups(), sql/functions/).

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
