-- 001: the warehouse core. Facts, products, dates and the pipeline's own bookkeeping.

-- one row per unique event_id (the flattened v1 contract plus derived fields)
create table fact_events (
    event_id uuid primary key,
    session_id uuid,                    -- our server-side session (DESIGN.md "Session")
    client_session_id uuid not null,    -- the tracker's session id, kept as an attribute
    anonymous_id text not null,
    user_hash text,                     -- keyed HMAC of user_id, never the id itself
    event_type text not null,
    ts timestamptz not null,            -- client time, clamped to received_at + 5 min
    received_at timestamptz not null,
    event_date date not null,           -- UTC date of ts
    event_hour smallint not null,       -- UTC hour of ts
    page_url text,
    page_path text,
    referrer text,
    referrer_host text,
    utm_source text,
    utm_medium text,
    utm_campaign text,
    utm_term text,
    utm_content text,
    channel text not null,
    device_type text not null,
    country text,
    city text,
    product_id text,
    category text,
    currency text,
    price numeric(12, 2),
    qty integer,
    revenue numeric(14, 2),             -- price x qty on purchase events, else null
    search_query text,
    props jsonb not null default '{}'::jsonb,
    is_ts_clamped boolean not null default false
);

-- one row per product ever seen in an event
create table dim_product (
    product_id text primary key,
    category text,
    last_price numeric(12, 2),
    currency text,
    first_seen_at timestamptz not null,
    last_seen_at timestamptz not null
);

-- one row per calendar date, 2010-01-01 to 2040-12-31
create table dim_date (
    date_key date primary key,
    year smallint not null,
    quarter smallint not null,
    month smallint not null,
    day smallint not null,
    iso_week smallint not null,
    iso_dow smallint not null,          -- 1 = Monday
    is_weekend boolean not null
);

insert into dim_date
select
    d::date as date_key,
    extract(year from d)::smallint as year,
    extract(quarter from d)::smallint as quarter,
    extract(month from d)::smallint as month,
    extract(day from d)::smallint as day,
    extract(week from d)::smallint as iso_week,
    extract(isodow from d)::smallint as iso_dow,
    extract(isodow from d) in (6, 7) as is_weekend
from generate_series('2010-01-01'::date, '2040-12-31'::date, interval '1 day') as d;

-- one row per raw object that was committed to the warehouse (the exactly-once manifest)
create table etl_processed_objects (
    object_key text primary key,
    etag text not null,
    size_bytes bigint not null,
    partition_hour timestamptz not null,  -- the receive hour of its raw partition
    execution_name text not null,
    lines_read integer not null,
    loaded integer not null,
    duplicates integer not null,
    rejected integer not null,
    is_quarantined boolean not null default false,
    processed_at timestamptz not null default now()
);

-- one row per (object, reason): rejected lines, committed with the object
create table etl_rejects (
    object_key text not null references etl_processed_objects (object_key),
    reason text not null,
    count_lines integer not null,
    partition_hour timestamptz not null,
    primary key (object_key, reason)
);

-- one row: the receive hour up to which every partition has been committed
create table etl_watermark (
    id boolean primary key default true check (id),
    watermark_hour timestamptz not null,
    execution_name text not null,
    updated_at timestamptz not null default now()
);

-- one row per execution that reached the database
create table etl_runs (
    execution_name text primary key,
    hour timestamptz not null,
    status text not null,               -- STAGED, UPSERTED, SUCCEEDED
    objects integer not null default 0,
    lines_read bigint not null default 0,
    loaded bigint not null default 0,
    duplicates bigint not null default 0,
    rejected bigint not null default 0,
    sessions_replaced integer not null default 0,
    started_at timestamptz not null default now(),
    upserted_at timestamptz,
    finished_at timestamptz
);
create index etl_runs_hour_idx on etl_runs (hour);
