-- per key (a product or a category, a column of the CTE rows): revenue by currency as a jsonb
-- object, from the visitors' rows in rows that have purchases (agg_daily_product_visitors)
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
    where currency <> '' and count_purchases > 0
    group by {key}, currency
) as by_currency
group by {key}
