-- DuckDB (bench/floor.py): the unique events of the raw files in $glob with fact_events' columns,
-- for the floor of a durable load. Parsed, the contract's 72-hour rule applied, deduped by
-- event_id (the first copy by received_at) and flattened, nothing more: no validation beyond
-- parsing, no normalisation (of the URLs only the path and the referrer's host), no channels, no
-- sessions (session_id is the tracker's, so the partial index of unsessionized events stays as
-- empty as ours).
-- grain: one row per unique event
create or replace temp table floor_events as
with lines as (
    select * from read_json(
        $glob, format = 'newline_delimited', compression = 'gzip',
        columns = {
            event_id: 'UUID',
            session_id: 'UUID',
            anonymous_id: 'VARCHAR',
            user_id: 'VARCHAR',
            event_type: 'VARCHAR',
            ts: 'TIMESTAMPTZ',
            received_at: 'TIMESTAMPTZ',
            page_url: 'VARCHAR',
            referrer: 'VARCHAR',
            device: 'STRUCT(type VARCHAR, user_agent VARCHAR)',
            geo: 'STRUCT(country VARCHAR, city VARCHAR)',
            ecom: 'STRUCT(product_id VARCHAR, category VARCHAR, currency VARCHAR, price DECIMAL(12, 2), qty INTEGER)',
            props: 'JSON'
        },
        ignore_errors = true, maximum_object_size = 65536
    )
    where event_id is not null and session_id is not null and anonymous_id is not null
      and event_type is not null and ts is not null and received_at is not null
      and received_at - ts <= interval 72 hours
),

events as (
    select * from lines
    qualify row_number() over (partition by event_id order by received_at) = 1
)

select
    event_id,
    session_id,
    session_id as client_session_id,
    anonymous_id,
    sha256(user_id) as user_hash,
    event_type,
    ts,
    received_at,
    cast(timezone('UTC', ts) as date) as event_date,
    cast(hour(timezone('UTC', ts)) as smallint) as event_hour,
    page_url,
    regexp_extract(page_url, '^[a-z]+://[^/?#]*([^?#]*)', 1) as page_path,
    referrer,
    regexp_extract(referrer, '^[a-z]+://([^/?#:]*)', 1) as referrer_host,
    null::varchar as utm_source,
    null::varchar as utm_medium,
    null::varchar as utm_campaign,
    null::varchar as utm_term,
    null::varchar as utm_content,
    case when referrer is null then 'Direct' else 'Referral' end as channel,
    coalesce(device.type, 'desktop') as device_type,
    geo.country as country,
    geo.city as city,
    ecom.product_id as product_id,
    ecom.category as category,
    ecom.currency as currency,
    ecom.price as price,
    ecom.qty as qty,
    case when event_type = 'purchase' then ecom.price * ecom.qty end as revenue,
    json_extract_string(props, '$.search_query') as search_query,
    coalesce(props, '{}') as props,
    false as is_ts_clamped
from events
