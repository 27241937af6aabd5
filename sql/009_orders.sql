-- 009: an order is an order (DESIGN.md "Order"). fact_session_revenue.orders and
-- agg_daily_revenue.orders counted purchase events (one per order line); they now count orders:
-- the distinct props.order_id of a session's purchase events, a purchase event without one being
-- an order of its own, each order in the currency of its first line ((ts, event_id) order). The
-- purchase events are counted apart, as lines. The existing rows are recomputed here from
-- fact_events; the load keeps them so (sql/sessionize/09_insert_session_revenue.sql and
-- 11_agg_daily_revenue.sql).

alter table fact_session_revenue add column lines integer not null default 0;
alter table agg_daily_revenue add column lines integer not null default 0;

-- the old orders were the purchase events
update fact_session_revenue set lines = orders, orders = 0;

-- grain: one row per (session, currency) whose orders' first lines are in that currency
with purchase_lines as (
    select
        session_id,
        coalesce(currency, '') as currency,
        nullif(btrim(props ->> 'order_id'), '') as order_id,
        ts,
        event_id
    from fact_events
    where event_type = 'purchase'
        and session_id is not null
),

first_lines as (
    select
        *,
        order_id is null
        or row_number() over (partition by session_id, order_id order by ts, event_id) = 1 as is_first_line
    from purchase_lines
),

session_orders as (
    select
        session_id,
        currency,
        count(*) filter (where is_first_line)::integer as orders
    from first_lines
    group by
        session_id,
        currency
)

update fact_session_revenue as revenue
set orders = session_orders.orders
from session_orders
where revenue.session_id = session_orders.session_id
    and revenue.currency = session_orders.currency;

-- agg_daily_revenue's orders and lines from the sessions' (its other measures are unchanged)
-- grain: one row per (session_date, device_type, country, channel, currency)
with daily as (
    select
        sessions.session_date,
        sessions.device_type,
        coalesce(sessions.country, '') as country,
        sessions.channel,
        revenue.currency,
        sum(revenue.orders)::integer as orders,
        sum(revenue.lines)::integer as lines
    from fact_sessions as sessions
    inner join fact_session_revenue as revenue on revenue.session_id = sessions.session_id
    group by 1, 2, 3, 4, 5
)

update agg_daily_revenue as agg
set orders = daily.orders, lines = daily.lines
from daily
where agg.session_date = daily.session_date
    and agg.device_type = daily.device_type
    and agg.country = daily.country
    and agg.channel = daily.channel
    and agg.currency = daily.currency;

-- every writer names its lines from now on
alter table fact_session_revenue alter column lines drop default;
alter table agg_daily_revenue alter column lines drop default;

-- each visitor's first day with an event (its first session's date, DESIGN.md "New visitor"), for
-- the new visitors of a period with slice filters (shiny/sql/traffic/visitor_totals_sliced.sql)
create index visitor_activity_days_first_idx on visitor_activity_days (activity_date, anonymous_id)
where kind = 'event' and gap_days = 0;
