-- 014: browser and OS of each event and session (ua-parser's families, docs/BOTS.md "Device type,
-- browser and OS"), the dashboards' aggregates by browser and OS, and product names as the
-- tracker saw them (ecom.name, DESIGN.md "Event contract").
--
-- The warehouse keeps no user agent, so the rows loaded before this migration have no browser or
-- OS (null, '' in the aggregates: "(unknown)" on the pages) until they are derived again from the
-- raw lake. Unknown means no user agent, or one that uap-core does not name ("Other").
--
-- agg_daily_tech_revenue.orders is backfilled below from fact_session_revenue.orders, which
-- sql/009 (an order is an order) has recounted by the time this file runs.

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

-- agg_daily_segments (sql/005) gains segment_by 'browser' and 'os', summed from agg_daily_tech.
-- The backfill: the stored sessions, all of unknown browser and OS.
insert into agg_daily_tech
select
    session_date,
    device_type,
    coalesce(country, ''),
    channel,
    coalesce(browser, ''),
    coalesce(os, ''),
    count(*)::integer,
    (count(*) filter (where is_engaged))::integer,
    sum(count_page_views)::integer,
    sum(count_events)::integer,
    sum(duration_s),
    (count(*) filter (where funnel_step >= 1))::integer,
    (count(*) filter (where funnel_step >= 2))::integer,
    (count(*) filter (where funnel_step >= 3))::integer,
    (count(*) filter (where funnel_step = 4))::integer
from fact_sessions
group by 1, 2, 3, 4, 5, 6;

insert into agg_daily_tech_revenue
select
    sessions.session_date,
    sessions.device_type,
    coalesce(sessions.country, ''),
    sessions.channel,
    coalesce(sessions.browser, ''),
    coalesce(sessions.os, ''),
    revenue.currency,
    count(*)::integer,
    sum(revenue.orders)::integer,
    sum(revenue.units)::integer,
    sum(revenue.revenue)
from fact_sessions as sessions
inner join fact_session_revenue as revenue on revenue.session_id = sessions.session_id
group by 1, 2, 3, 4, 5, 6, 7;

insert into agg_daily_segments
with segment_rows as (
    select 'browser' as segment_by, browser as segment, * from agg_daily_tech
    union all
    select 'os' as segment_by, os as segment, * from agg_daily_tech
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
from segment_rows
group by session_date, segment_by, segment;
