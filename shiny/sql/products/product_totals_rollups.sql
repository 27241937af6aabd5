-- per period: product views, visitors who viewed / added / bought any product, and units, without
-- slice filters: from agg_daily_products and the 'any_' gaps of sql/005
with totals as (
    select
        case when event_date >= %(start)s then 'current' else 'previous' end as period,
        sum(count_views)::bigint as views,
        sum(units)::bigint as units
    from agg_daily_products
    where event_date between %(prev_start)s and %(end)s
    group by 1
),

-- a visitor counts on its first day of the kind in the period
visitors as (
    select
        case when activity_date >= %(start)s then 'current' else 'previous' end as period,
        sum(count_visitors) filter (where kind = 'any_view') as viewers,
        sum(count_visitors) filter (where kind = 'any_add_to_cart') as adders,
        sum(count_visitors) filter (where kind = 'any_purchase') as buyers
    from agg_daily_visitor_gaps
    where kind in ('any_view', 'any_add_to_cart', 'any_purchase')
        and activity_date between %(prev_start)s and %(end)s
        and (
            gap_days = 0
            or activity_date - gap_days < case
                when activity_date >= %(start)s then %(start)s::date
                else %(prev_start)s::date
            end
        )
    group by 1
),

-- grain: one row per period with product events
final as (
    select
        totals.period,
        totals.views,
        coalesce(visitors.viewers, 0)::bigint as viewers,
        coalesce(visitors.adders, 0)::bigint as adders,
        coalesce(visitors.buyers, 0)::bigint as buyers,
        totals.units
    from totals
    left join visitors on visitors.period = totals.period
)

select * from final
