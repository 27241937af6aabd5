-- 014: browser and OS of each event and session (ua-parser's families, docs/BOTS.md "Device type,
-- browser and OS"), the dashboards' aggregates by browser and OS, and product names as the
-- tracker saw them (ecom.name, DESIGN.md "Event contract").
--
-- The warehouse keeps no user agent, so the rows loaded before this migration have no browser or
-- OS (null, '' in the aggregates: "(unknown)" on the pages) until they are derived again from the
-- raw lake. Unknown means no user agent, or one that uap-core does not name ("Other").
--
-- agg_daily_segments (sql/005) gains segment_by 'browser' and 'os', summed from agg_daily_tech.
-- sql/backfills/014_browser_os_product_names.sql fills agg_daily_tech, agg_daily_tech_revenue and
-- those segments once, after sql/functions/ is applied, from the stored sessions (all of unknown
-- browser and OS), agg_daily_tech_revenue.orders from fact_session_revenue.orders, which sql/009
-- (an order is an order) has recounted by then.

alter table fact_events add column browser text;           -- ua-parser's browser family, null when unknown
alter table fact_events add column os text;                -- ua-parser's OS family, null when unknown
alter table fact_events add column product_name text;      -- ecom.name as the tracker sent it

alter table fact_sessions add column browser text;         -- of the first event
alter table fact_sessions add column os text;              -- of the first event

-- the name of the product's newest event that carries one, and that event (by ts, then event_id;
-- sql/upsert/06_dim_product.sql)
alter table dim_product add column product_name text;
alter table dim_product add column product_named_at timestamptz;
alter table dim_product add column product_named_by uuid;

-- one row per (session_date, device_type, country, channel, browser, os): agg_daily_slices split by
-- the session's browser and OS ('' when unknown); replaced for every session_date a run touched
-- (refresh_session_rollups, sql/functions/)
create table agg_daily_tech (
    session_date date not null,
    device_type text not null,
    country text not null,                  -- '' when unknown
    channel text not null,
    browser text not null,                  -- '' when unknown
    os text not null,                       -- '' when unknown
    count_sessions integer not null,
    count_engaged_sessions integer not null,
    count_page_views integer not null,
    count_events integer not null,
    sum_duration_s double precision not null,
    count_funnel_view integer not null,
    count_funnel_cart integer not null,
    count_funnel_checkout integer not null,
    count_funnel_purchase integer not null,
    primary key (session_date, device_type, country, channel, browser, os)
);

-- one row per (session_date, device_type, country, channel, browser, os, currency): agg_daily_revenue
-- split by the session's browser and OS (fact_session_revenue summed by date)
create table agg_daily_tech_revenue (
    session_date date not null,
    device_type text not null,
    country text not null,
    channel text not null,
    browser text not null,
    os text not null,
    currency text not null,                 -- '' for purchases that carry no ecom
    count_purchasing_sessions integer not null,
    orders integer not null,
    units integer not null,
    revenue numeric(16, 2) not null,
    primary key (session_date, device_type, country, channel, browser, os, currency)
);
