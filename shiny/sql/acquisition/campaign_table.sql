-- per UTM campaign, source, medium and channel over the selected dates (untagged sessions left out):
-- sessions, engagement, purchases and revenue by currency. Slots: landing_rows, slices, campaign_keys
-- (acquisition/campaign_keys.sql)
with tagged as (
    select
        {campaign_keys},
        count_sessions,
        count_engaged_sessions,
        count_purchase_sessions
    from ({landing_rows}) as landing_rows
    where session_date between %(start)s and %(end)s
        and (utm_campaign is not null or utm_source is not null or utm_medium is not null)
),

campaigns as (
    select
        campaign,
        source,
        medium,
        channel,
        sum(count_sessions)::bigint as sessions,
        sum(count_engaged_sessions)::bigint as engaged_sessions,
        sum(count_purchase_sessions)::bigint as purchase_sessions
    from tagged
    group by 1, 2, 3, 4
),

revenue_by_currency as (
    select
        {campaign_keys},
        currency,
        sum(revenue) as revenue
    from agg_daily_landing_revenue
    where session_date between %(start)s and %(end)s
        and (utm_campaign is not null or utm_source is not null or utm_medium is not null)
        and {slices}
    group by 1, 2, 3, 4, 5
),

revenue as (
    select
        campaign,
        source,
        medium,
        channel,
        jsonb_object_agg(currency, revenue) as revenue
    from revenue_by_currency
    group by 1, 2, 3, 4
),

-- grain: one row per (campaign, source, medium, channel) with tagged sessions
final as (
    select
        campaigns.*,
        coalesce(revenue.revenue, '{{}}'::jsonb) as revenue
    from campaigns
    left join revenue
        on revenue.campaign = campaigns.campaign
        and revenue.source = campaigns.source
        and revenue.medium = campaigns.medium
        and revenue.channel = campaigns.channel
)

select * from final order by sessions desc, campaign, source, medium, channel
