-- 013: the analyses of issue 17 (DESIGN.md "Retention", "Site search", "Paths"): per-visitor facts
-- derived from fact_sessions and fact_events, and the aggregates the dashboards read.
--
-- Upsert keeps them exact in its transaction (clickstream/pipeline/analyses.py, sql/analyses/): for
-- each visitor whose sessions a run changed (touched_visitors, with the first date it touched),
-- the visitor's rows from that date on are replaced from fact_sessions / fact_events (read by the
-- visitor's index from that date on), and each aggregate moves by the rows removed (-1) and
-- inserted (+1), as sql/005's gaps do. rebuild_analyses() (sql/functions/30_refresh_analyses.sql)
-- computes every table from scratch: sql/backfills/013_analyses.sql calls it once, after
-- sql/functions/ is applied, and rebuild_dashboard_rollups() calls it.
--
-- Slices (device_type, country, channel) are always a session's (its first event's), country ''
-- when unknown; weeks start on Monday (UTC).

-- one row per (visitor, kind): the visitor's cohort. kind 'visit': its first session; 'purchase':
-- its first session with a purchase. The cohort date is that session's session_date, the slice
-- that session's.
create table retention_cohorts (
    anonymous_id text not null,
    kind text not null,                     -- 'visit' or 'purchase'
    cohort_date date not null,
    device_type text not null,
    country text not null,                  -- '' when unknown
    channel text not null,
    primary key (anonymous_id, kind)
);

-- one row per (visitor, kind, week_start): a week in which the visitor started a session
-- ('visit') or a session with a purchase ('purchase')
create table retention_weeks (
    anonymous_id text not null,
    kind text not null,
    week_start date not null,               -- the Monday of the week
    primary key (anonymous_id, kind, week_start)
);

-- one row per (kind, cohort_date, device_type, country, channel, week_offset): the visitors of
-- the cohort (first session or first purchase on cohort_date, in that slice) active in the week
-- week_offset weeks after the cohort date's week (week_offset 0: the cohort's size)
create table agg_retention (
    kind text not null,
    cohort_date date not null,
    device_type text not null,
    country text not null,
    channel text not null,
    week_offset integer not null,
    count_visitors integer not null,
    primary key (kind, cohort_date, device_type, country, channel, week_offset)
);

-- one row per (kind, cohort_date, week_offset): agg_retention summed over the slices
create table agg_retention_all (
    kind text not null,
    cohort_date date not null,
    week_offset integer not null,
    count_visitors integer not null,
    primary key (kind, cohort_date, week_offset)
);

-- one row per search event: its query and what the visitor did after it in the same session
create table fact_searches (
    event_id uuid primary key,
    anonymous_id text not null,
    session_id uuid not null,
    event_date date not null,
    device_type text not null,              -- the session's slice
    country text not null,
    channel text not null,
    search_query text not null,             -- lower case, trimmed, inner spaces collapsed; '' when none
    has_no_results boolean not null,        -- props.results = 0 (when the tracker sends it)
    viewed_product boolean not null,        -- a later view of a product in the session
    purchased boolean not null,             -- a later purchase in the session
    exited boolean not null,                -- no later page view or search in the session
    searched_again boolean not null         -- the session's next page view or search is a search
);
create index fact_searches_visitor_idx on fact_searches (anonymous_id, event_date);

-- one row per (event_date, device_type, country, channel, search_query): fact_searches counted
create table agg_daily_searches (
    event_date date not null,
    device_type text not null,
    country text not null,
    channel text not null,
    search_query text not null,
    count_searches integer not null,
    count_no_results integer not null,
    count_product_views integer not null,
    count_purchases integer not null,
    count_exits integer not null,
    count_searched_again integer not null,
    primary key (event_date, device_type, country, channel, search_query)
);

-- one row per (event_date, search_query): agg_daily_searches summed over the slices
create table agg_daily_searches_all (
    event_date date not null,
    search_query text not null,
    count_searches integer not null,
    count_no_results integer not null,
    count_product_views integer not null,
    count_purchases integer not null,
    count_exits integer not null,
    count_searched_again integer not null,
    primary key (event_date, search_query)
);

-- one row per session with a page view: its first three pages (a product's page is
-- 'product: <its category>'; consecutive views of one page count once; '' after the session's last
-- page: it ended there)
create table fact_session_paths (
    session_id uuid primary key,
    anonymous_id text not null,
    session_start timestamptz not null,
    session_date date not null,
    device_type text not null,
    country text not null,
    channel text not null,
    step1 text not null,                    -- the landing page (the first page viewed)
    step2 text not null,
    step3 text not null,
    purchased boolean not null              -- the session has a purchase
);
create index fact_session_paths_visitor_idx on fact_session_paths (anonymous_id, session_start);

-- one row per (session_date, device_type, country, channel, step1, step2, step3): sessions by path
create table agg_daily_paths (
    session_date date not null,
    device_type text not null,
    country text not null,
    channel text not null,
    step1 text not null,
    step2 text not null,
    step3 text not null,
    count_sessions integer not null,
    count_purchase_sessions integer not null,
    primary key (session_date, device_type, country, channel, step1, step2, step3)
);

-- one row per (session_date, step1, step2, step3): agg_daily_paths summed over the slices
create table agg_daily_paths_all (
    session_date date not null,
    step1 text not null,
    step2 text not null,
    step3 text not null,
    count_sessions integer not null,
    count_purchase_sessions integer not null,
    primary key (session_date, step1, step2, step3)
);
