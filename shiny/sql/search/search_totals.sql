-- Site search's headline: per period (the selected dates, current, and as many days before them,
-- previous) the searches and what followed them. Slots: searches, slices (as search_queries.sql).
-- grain: one row per period
select
    case when event_date >= %(start)s then 'current' else 'previous' end as period,
    sum(count_searches)::integer as searches,
    sum(count_no_results)::integer as no_results,
    sum(count_product_views)::integer as product_views,
    sum(count_purchases)::integer as purchases,
    sum(count_exits)::integer as exits,
    sum(count_searched_again)::integer as searched_again
from {searches}
where
    event_date between %(prev_start)s and %(end)s
    and {slices}
group by period
