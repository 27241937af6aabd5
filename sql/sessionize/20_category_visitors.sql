-- The visitors whose category days are replaced (temp table category_visitors): the touched
-- visitors from their first touched date, and every visitor of a recategorized product already
-- counted from its first day.
-- grain: one row per visitor
create temp table category_visitors on commit drop as
with visitors as (
    select
        anonymous_id,
        first_date
    from touched_visitors
    union all
    select distinct
        facts.anonymous_id,
        date '0001-01-01' as first_date
    from recategorized_products as products
    inner join agg_daily_product_visitors as facts on facts.product_id = products.product_id
    where products.was_counted
)

select
    anonymous_id,
    min(first_date) as first_date
from visitors
group by anonymous_id
