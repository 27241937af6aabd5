-- clickstream export: the sessions that start in a date range (session_date, UTC), with the
-- measures the dashboards read. orders, units and revenue sum the session's purchases over its
-- currencies; revenue is empty when the session paid in more than one (currency lists them).
-- grain: one row per session (session_id), in (session_start, session_id) order
with money as (
    -- grain: one row per session that purchased
    select
        session_id,
        sum(orders)::integer as orders,
        sum(units)::integer as units,
        case when count(*) = 1 then sum(revenue) end::numeric(16, 2) as revenue,
        string_agg(nullif(currency, ''), ',' order by currency) as currency
    from fact_session_revenue
    where session_id in (
        select session_id from fact_sessions where session_date between %(date_from)s and %(date_to)s
    )
    group by session_id
)

select
    s.session_id::text as session_id,
    s.anonymous_id,
    s.user_hash,
    s.session_start,
    s.session_end,
    s.session_date,
    s.start_hour,
    s.duration_s,
    s.count_events,
    s.count_page_views,
    s.entry_page,
    s.exit_page,
    s.landing_referrer_host,
    s.channel,
    s.device_type,
    s.country,
    s.utm_source,
    s.utm_medium,
    s.utm_campaign,
    s.is_engaged,
    s.funnel_step,
    s.reached_cart,
    s.reached_checkout,
    s.reached_purchase,
    coalesce(m.orders, 0) as orders,
    coalesce(m.units, 0) as units,
    m.revenue,
    m.currency
from fact_sessions as s
left join money as m on m.session_id = s.session_id
where s.session_date between %(date_from)s and %(date_to)s
order by s.session_start, s.session_id
