-- Site search's headline: per period (the selected dates, current, and as many days before them,
-- previous) the searches and what followed them. Slots: searches, slices, search_measures (as
-- search_queries.sql).
-- grain: one row per period
select
    case when event_date >= %(start)s then 'current' else 'previous' end as period,
    {search_measures}
from {searches}
where
    event_date between %(prev_start)s and %(end)s
    and {slices}
group by period
