-- A CTE of 16_agg_daily_visitors.sql and 17_agg_daily_product_visitors.sql: the stored events
-- of the touched (date, visitor) pairs.
-- grain: one row per such event
visitor_day_events as (
    select
        events.event_date as activity_date,
        events.anonymous_id,
        events.session_id,
        events.event_type,
        events.product_id,
        coalesce(events.currency, '') as currency,
        events.qty,
        events.revenue
    from touched_visitor_events as events
    inner join touched_visitor_days as days
        on
            days.anonymous_id = events.anonymous_id
            and days.activity_date = events.event_date
)
