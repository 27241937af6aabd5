-- per landing referrer host and channel over the selected dates: sessions, engagement, purchases
-- and revenue by currency (acquisition/landing_rows.sql and agg_daily_landing_revenue)
with referrers as (
    select
        referrer_host,
        channel,
        sum(count_sessions)::bigint as sessions,
        sum(count_engaged_sessions)::bigint as engaged_sessions,
        sum(count_purchase_sessions)::bigint as purchase_sessions
    from ({landing_rows}) as landing_rows
    where session_date between %(start)s and %(end)s
    group by 1, 2
),

revenue_by_currency as (
    select
        referrer_host,
        channel,
        currency,
        sum(revenue) as revenue
    from agg_daily_landing_revenue
    where session_date between %(start)s and %(end)s
        and {slices}
    group by 1, 2, 3
),

revenue as (
    select
        referrer_host,
        channel,
        jsonb_object_agg(currency, revenue) as revenue
    from revenue_by_currency
    group by 1, 2
),

-- grain: one row per (referrer_host, channel) with sessions
final as (
    select
        referrers.*,
        coalesce(revenue.revenue, '{{}}'::jsonb) as revenue
    from referrers
    left join revenue
        on revenue.referrer_host = referrers.referrer_host
        and revenue.channel = referrers.channel
)

select * from final order by sessions desc, referrer_host, channel
