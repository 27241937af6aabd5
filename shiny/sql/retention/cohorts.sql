-- Retention (DESIGN.md "Retention"): the visitors whose first visit (kind 'visit') or first
-- purchase ('purchase') is in the selected dates and slices, by the week of that date, and how many
-- of them were active in each week after it (week_offset 0: the cohort's size). Slots: retention
-- (agg_retention_all without slice filters, else agg_retention), slices.
-- grain: one row per (cohort_week, week_offset)
select
    date_trunc('week', cohort_date::timestamp)::date as cohort_week,
    week_offset,
    sum(count_visitors)::integer as visitors
from {retention}
where
    kind = %(kind)s
    and cohort_date between %(start)s and %(end)s
    and {slices}
group by cohort_week, week_offset
order by cohort_week, week_offset
