-- The recomputed sessions into fact_sessions, a visitor's sessions together (new_sessions has
-- fact_sessions' columns in this order, 07_new_sessions.sql).
insert into fact_sessions (
    session_id,
    anonymous_id,
    user_hash,
    session_start,
    session_end,
    session_date,
    start_hour,
    duration_s,
    count_events,
    count_page_views,
    entry_page,
    exit_page,
    landing_referrer,
    landing_referrer_host,
    channel,
    utm_source,
    utm_medium,
    utm_campaign,
    device_type,
    country,
    reached_cart,
    reached_checkout,
    reached_purchase,
    funnel_step,
    count_purchases,
    browser,
    os,
    is_engaged
)
select *
from new_sessions
order by anonymous_id collate "C", session_start
