-- per category over the selected dates: views, viewers, adders, buyers, units and revenue by currency,
-- a visitor counted once per category; rows, counts and revenue as in products/product_table.sql, the
-- categories dim_product's (as sql/005's category gaps follow them); list impressions and list
-- clicks of the category's products from products/list_counts.sql (sql/011)
with rows as ({rows}),

categories as ({counts}),

category_revenue as ({revenue}),

category_lists as ({lists}),

-- grain: one row per category with product events, impressions or list clicks ('' for products
-- without one)
final as (
    select
        coalesce(categories.category, category_lists.category) as category,
        coalesce(categories.views, 0)::bigint as views,
        coalesce(categories.viewers, 0)::bigint as viewers,
        coalesce(categories.adders, 0)::bigint as adders,
        coalesce(categories.buyers, 0)::bigint as buyers,
        coalesce(categories.units, 0)::bigint as units,
        coalesce(category_lists.impressions, 0)::bigint as impressions,
        coalesce(category_lists.list_clicks, 0)::bigint as list_clicks,
        coalesce(category_revenue.revenue, '{{}}'::jsonb) as revenue
    from categories
    full join category_lists on category_lists.category = categories.category
    left join category_revenue on category_revenue.category = categories.category
)

select * from final order by units desc, views desc, category
