-- clickstream export: the events of a date range (event_date, UTC), human traffic only (bots and
-- referrer spam never reach the warehouse). device_type, country and channel are those of the
-- event's session, the slice the dashboards count the event in; order_id is props.order_id.
-- grain: one row per event (event_id), in (event_date, ts, event_id) order
with range_events as (
    select *
    from fact_events
    where event_date between %(date_from)s and %(date_to)s
)

select
    e.event_id::text as event_id,
    e.session_id::text as session_id,
    e.ts,
    e.event_date,
    e.event_hour,
    e.event_type,
    e.anonymous_id,
    e.user_hash,
    e.page_path,
    e.referrer_host,
    coalesce(s.channel, e.channel) as channel,
    coalesce(s.device_type, e.device_type) as device_type,
    case when s.session_id is null then e.country else s.country end as country,
    e.city,
    e.utm_source,
    e.utm_medium,
    e.utm_campaign,
    e.product_id,
    e.category,
    e.currency,
    e.price,
    e.qty,
    e.revenue,
    e.props ->> 'order_id' as order_id,
    e.search_query
from range_events as e
left join fact_sessions as s on s.session_id = e.session_id
order by e.event_date, e.ts, e.event_id
