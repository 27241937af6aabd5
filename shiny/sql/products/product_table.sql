-- per product over the selected dates: its name (the tracker's ecom.name, sql/008), views, viewers, adders, buyers, orders, units and revenue by
-- currency; rows, counts and revenue are products/*_rollups.sql without slice filters (agg_daily_products
-- and sql/005's gaps) and products/*_sliced.sql with them (agg_daily_product_visitors)
with rows as ({rows}),

products as ({counts}),

product_revenue as ({revenue}),

-- grain: one row per product with product events
final as (
    select
        products.product_id,
        coalesce(dim_product.product_name, '') as product_name,
        coalesce(dim_product.category, '') as category,
        products.views,
        products.viewers,
        products.adders,
        products.buyers,
        products.orders,
        products.units,
        coalesce(product_revenue.revenue, '{{}}'::jsonb) as revenue
    from products
    left join dim_product on dim_product.product_id = products.product_id
    left join product_revenue on product_revenue.product_id = products.product_id
)

select * from final order by units desc, views desc, product_id
