-- per category over the selected dates: views, viewers, adders, buyers, units and revenue by currency,
-- a visitor counted once per category; rows, counts and revenue as in products/product_table.sql, the
-- categories dim_product's (as sql/005's category gaps follow them)
with rows as ({rows}),

categories as ({counts}),

category_revenue as ({revenue}),

-- grain: one row per category with product events ('' for products without one)
final as (
    select
        categories.category,
        categories.views,
        categories.viewers,
        categories.adders,
        categories.buyers,
        categories.units,
        coalesce(category_revenue.revenue, '{{}}'::jsonb) as revenue
    from categories
    left join category_revenue on category_revenue.category = categories.category
)

select * from final order by units desc, views desc, category
