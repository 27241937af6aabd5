-- Site search (DESIGN.md "Site search"): per query over the selected dates and slices, the searches
-- and what followed them in their sessions. Slots: searches (agg_daily_searches_all without slice
-- filters, else agg_daily_searches), slices.
-- grain: one row per search query
select
    search_query,
    sum(count_searches)::integer as searches,
    sum(count_no_results)::integer as no_results,
    sum(count_product_views)::integer as product_views,
    sum(count_purchases)::integer as purchases,
    sum(count_exits)::integer as exits,
    sum(count_searched_again)::integer as searched_again
from {searches}
where
    event_date between %(start)s and %(end)s
    and {slices}
group by search_query
order by searches desc, search_query
