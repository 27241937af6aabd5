-- per period: product views, visitors who viewed / added / bought any product, and units, in the
-- selected slices: each visitor's product events (agg_daily_product_visitors) counted by products/counts_sliced.sql
with rows as (
    select
        case when event_date >= %(start)s then 'current' else 'previous' end as period,
        *
    from agg_daily_product_visitors
    where event_date between %(prev_start)s and %(end)s
        and {slices}
),

totals as ({counts}),

-- grain: one row per period with product events
final as (
    select
        period,
        views,
        viewers,
        adders,
        buyers,
        units
    from totals
)

select * from final
