-- grain: one row per touched visitor: its first touched date
create temp table touched_visitors on commit drop as
select
    anonymous_id,
    min(activity_date) as first_date
from touched_visitor_days
group by anonymous_id
