-- 003: sessions (DESIGN.md "Session") and the daily aggregate tables the dashboards read.
-- Every aggregate is kept exact for every date a run touched (delete + insert of the affected
-- keys in the Upsert transaction: whole dates for the session tables, (date, visitor) for the
-- visitor tables). The dashboards' global filters are device_type, country and channel, so
-- each aggregate carries them in its grain; sums over any filter are exact. They are always
-- the session's (those of its first event), also in the per-event tables: an event counts in
-- the slice of the session it belongs to. "First" and "last" mean in (ts, event_id) order.

-- one row per session: a visitor's maximal run of events with no gap over 30 minutes
create table fact_sessions (
    session_id uuid primary key,            -- deterministic: uuid5 of (anonymous_id, session_start)
    anonymous_id text not null,
    user_hash text,                         -- the last non-null user_hash of the session
    session_start timestamptz not null,
    session_end timestamptz not null,
    session_date date not null,             -- UTC date of session_start (counted on the date it starts)
    start_hour smallint not null,           -- UTC hour of session_start
    duration_s double precision not null,   -- session_end - session_start
    count_events integer not null,
    count_page_views integer not null,      -- view events
    entry_page text,                        -- page_path of the first event
    exit_page text,                         -- page_path of the last event
    landing_referrer text,                  -- referrer of the first event
    landing_referrer_host text,             -- its host
    channel text not null,                  -- of the first event
    utm_source text,                        -- of the first event, as utm_medium and utm_campaign
    utm_medium text,
    utm_campaign text,
    device_type text not null,              -- of the first event
    country text,                           -- of the first event
    reached_cart boolean not null,          -- any add_to_cart
    reached_checkout boolean not null,      -- any checkout
    reached_purchase boolean not null,      -- any purchase
    funnel_step smallint not null,          -- ordered funnel: 0 none, 1 view, 2 add_to_cart after a view,
                                            -- 3 checkout after that, 4 purchase after that
    count_purchases integer not null,
    is_engaged boolean not null             -- > 10 s, or 2+ page views, or a purchase
);
create index fact_sessions_date_idx on fact_sessions (session_date);
create index fact_sessions_visitor_idx on fact_sessions (anonymous_id, session_start);

-- one row per (session, currency): purchase revenue of a session
create table fact_session_revenue (
    session_id uuid not null references fact_sessions (session_id) on delete cascade,
    currency text not null,                 -- '' for purchases that carry no ecom
    orders integer not null,                -- purchase events
    units integer not null,                 -- sum of qty
    revenue numeric(14, 2) not null,        -- sum of price x qty
    primary key (session_id, currency)
);

-- one row per (session_date, start_hour, device_type, country, channel): traffic, engagement, funnel
create table agg_daily_sessions (
    session_date date not null,
    start_hour smallint not null,
    device_type text not null,
    country text not null,                  -- '' when unknown
    channel text not null,
    count_sessions integer not null,
    count_engaged_sessions integer not null,
    count_page_views integer not null,
    count_events integer not null,
    sum_duration_s double precision not null,
    count_funnel_view integer not null,     -- sessions with funnel_step >= 1
    count_funnel_cart integer not null,     -- >= 2
    count_funnel_checkout integer not null, -- >= 3
    count_funnel_purchase integer not null, -- = 4
    primary key (session_date, start_hour, device_type, country, channel)
);

-- one row per (session_date, device_type, country, channel, currency): revenue by acquisition slice
create table agg_daily_revenue (
    session_date date not null,
    device_type text not null,
    country text not null,
    channel text not null,
    currency text not null,
    count_purchasing_sessions integer not null,
    orders integer not null,
    units integer not null,
    revenue numeric(16, 2) not null,
    primary key (session_date, device_type, country, channel, currency)
);

-- one row per (activity_date, anonymous_id, device_type, country, channel): who was active
-- (DAU = distinct visitors with an event that day; MAU over the 30 days ending that day).
-- The slice is that of the session each event belongs to.
create table agg_daily_visitors (
    activity_date date not null,
    anonymous_id text not null,
    device_type text not null,
    country text not null,
    channel text not null,
    count_events integer not null,
    count_page_views integer not null,
    primary key (activity_date, anonymous_id, device_type, country, channel)
);

-- one row per (event_date, product_id, anonymous_id, device_type, country, channel, currency):
-- a visitor's dealings with a product on a day (its view, add_to_cart and purchase events; the
-- slice is that of each event's session); product views, rates, units and revenue all
-- derive from it exactly (add-to-cart rate = visitors who added / visitors who viewed)
create table agg_daily_product_visitors (
    event_date date not null,
    product_id text not null,
    anonymous_id text not null,
    device_type text not null,
    country text not null,
    channel text not null,
    currency text not null,                 -- '' when the events carry none
    count_views integer not null,
    count_add_to_carts integer not null,
    count_purchases integer not null,
    units integer not null,                 -- purchased
    revenue numeric(14, 2) not null,        -- sum(price x qty) of purchases
    -- visitor before product: a run replaces the rows of the (date, visitor) pairs it touched
    primary key (event_date, anonymous_id, product_id, device_type, country, channel, currency)
);
create index agg_daily_product_visitors_product_idx on agg_daily_product_visitors (product_id, event_date);
