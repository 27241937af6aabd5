-- per channel, device, country, browser or OS over the selected dates: sessions, conversion, orders
-- and revenue (revenue_rows: agg_daily_revenue, or agg_daily_tech_revenue for browser and OS)
with sessions as ({segment_sessions}),

revenue_by_currency as (
    select
        {segment} as segment,
        currency,
        sum(orders)::bigint as orders,
        sum(revenue) as revenue
    from {revenue_rows}
    where session_date between %(start)s and %(end)s
        and {slices}
    group by 1, 2
),

revenue as (
    select
        segment,
        sum(orders)::bigint as orders,
        jsonb_object_agg(currency, revenue) as revenue
    from revenue_by_currency
    group by segment
),

-- grain: one row per segment with sessions
final as (
    select
        sessions.segment,
        sessions.sessions,
        sessions.engaged_sessions,
        sessions.page_views,
        sessions.funnel_purchase as purchase_sessions,
        coalesce(revenue.orders, 0) as orders,
        coalesce(revenue.revenue, '{{}}'::jsonb) as revenue
    from sessions
    left join revenue on revenue.segment = sessions.segment
)

select * from final order by sessions desc, segment
