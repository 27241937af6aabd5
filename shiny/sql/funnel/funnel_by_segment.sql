-- sessions at each funnel step of the selected dates, split by device, channel or country
with segments as ({segment_sessions}),

-- grain: one row per segment with sessions
final as (
    select
        segment,
        sessions,
        funnel_view,
        funnel_cart,
        funnel_checkout,
        funnel_purchase
    from segments
)

select * from final order by sessions desc, segment
