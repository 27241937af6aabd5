-- Paths (DESIGN.md "Paths"): sessions by their first three pages over the selected dates and
-- slices ('' after the page a session ended on). Slots: paths (agg_daily_paths_all without slice
-- filters, else agg_daily_paths), slices. Unordered: the page orders what it shows.
-- grain: one row per path (step1, step2, step3)
select
    step1,
    step2,
    step3,
    sum(count_sessions)::integer as sessions,
    sum(count_purchase_sessions)::integer as purchase_sessions
from {paths}
where
    session_date between %(start)s and %(end)s
    and {slices}
group by step1, step2, step3
