-- Site search (DESIGN.md "Site search"): per query over the selected dates and slices, the searches
-- and what followed them in their sessions. Slots: searches (agg_daily_searches_all without slice
-- filters, else agg_daily_searches), slices, search_measures (search/search_measures.sql).
-- grain: one row per search query
select
    search_query,
    {search_measures}
from {searches}
where
    event_date between %(start)s and %(end)s
    and {slices}
group by search_query
order by searches desc, search_query
