-- the session measures of session rows (agg_daily_segments' or agg_daily_slices' counts), summed
sum(count_sessions)::bigint as sessions,
sum(count_engaged_sessions)::bigint as engaged_sessions,
sum(count_page_views)::bigint as page_views,
sum(count_events)::bigint as events,
sum(sum_duration_s) as sum_duration_s,
sum(count_funnel_view)::bigint as funnel_view,
sum(count_funnel_cart)::bigint as funnel_cart,
sum(count_funnel_checkout)::bigint as funnel_checkout,
sum(count_funnel_purchase)::bigint as funnel_purchase
