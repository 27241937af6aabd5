-- per key (a product or a category, a column of the CTE rows): revenue by currency as a jsonb
-- object, from the rows of agg_daily_products in rows, a currency counted where it has purchases
-- grain: one row per key with purchases in a currency
select
    {key},
    jsonb_object_agg(currency, revenue) as revenue
from (
    select
        {key},
        currency,
        sum(revenue) as revenue
    from rows
    where currency <> ''
    group by {key}, currency
    having sum(count_purchases) > 0
) as by_currency
group by {key}
