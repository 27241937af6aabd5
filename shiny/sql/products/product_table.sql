-- per product over the selected dates: its name (the tracker's ecom.name, sql/014), views, viewers,
-- adders, buyers, orders, units and revenue by currency; rows, counts and revenue are
-- products/*_rollups.sql without slice filters (agg_daily_products and sql/005's gaps) and
-- products/*_sliced.sql with them (agg_daily_product_visitors); list impressions and list clicks
-- from products/list_counts.sql (sql/011), a product shown in a list but never viewed included
with rows as ({rows}),

products as ({counts}),

product_revenue as ({revenue}),

product_lists as ({lists}),

-- grain: one row per product with product events, impressions or list clicks
final as (
    select
        coalesce(products.product_id, product_lists.product_id) as product_id,
        coalesce(dim_product.product_name, '') as product_name,
        coalesce(dim_product.category, '') as category,
        coalesce(products.views, 0)::bigint as views,
        coalesce(products.viewers, 0)::bigint as viewers,
        coalesce(products.adders, 0)::bigint as adders,
        coalesce(products.buyers, 0)::bigint as buyers,
        coalesce(products.orders, 0)::bigint as orders,
        coalesce(products.units, 0)::bigint as units,
        coalesce(product_lists.impressions, 0)::bigint as impressions,
        coalesce(product_lists.list_clicks, 0)::bigint as list_clicks,
        coalesce(product_revenue.revenue, '{{}}'::jsonb) as revenue
    from products
    full join product_lists on product_lists.product_id = products.product_id
    left join dim_product on dim_product.product_id = coalesce(products.product_id, product_lists.product_id)
    left join product_revenue on product_revenue.product_id = products.product_id
)

select * from final order by units desc, views desc, product_id
