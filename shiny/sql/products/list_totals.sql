-- per period: list impressions and list clicks of every product (sql/011), from
-- agg_daily_product_lists without slice filters, else agg_daily_product_list_slices in the selected
-- slices; the Products page's list click-through rate is list_clicks / impressions
with periods as (
    select
        case when event_date >= %(start)s then 'current' else 'previous' end as period,
        count_impressions,
        count_list_clicks
    from {facts}
    where event_date between %(prev_start)s and %(end)s
        and {slices}
),

-- grain: one row per period with impressions or list clicks
final as (
    select
        period,
        sum(count_impressions)::bigint as impressions,
        sum(count_list_clicks)::bigint as list_clicks
    from periods
    group by period
)

select * from final
