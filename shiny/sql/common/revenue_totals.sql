-- per period and currency: orders (distinct order ids, each in its first line's currency, DESIGN.md
-- "Order"), purchase lines, units and revenue (currencies are never added together)
-- grain: one row per (period, currency) with revenue rows
select
    case when session_date >= %(start)s then 'current' else 'previous' end as period,
    currency,
    sum(orders)::bigint as orders,
    sum(lines)::bigint as lines,
    sum(units)::bigint as units,
    sum(revenue) as revenue
from agg_daily_revenue
where session_date between %(prev_start)s and %(end)s
    and {slices}
group by 1, 2
order by 1, 2
