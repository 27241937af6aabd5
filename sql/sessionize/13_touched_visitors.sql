-- The visitors of those pairs with their first touched date (temp table touched_visitors).
-- grain: one row per touched visitor
create temp table touched_visitors on commit drop as
select
    anonymous_id,
    min(activity_date) as first_date
from touched_visitor_days
group by anonymous_id
