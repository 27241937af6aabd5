-- The products whose category is not (or not yet) the one their days were counted under, once
-- dim_product has the run's products (temp table recategorized_products).
-- grain: one row per such product
create temp table recategorized_products on commit drop as
select
    products.product_id,
    coalesce(products.category, '') as category,
    counted.product_id is not null as was_counted
from dim_product as products
left join visitor_category_products as counted on counted.product_id = products.product_id
where counted.category is distinct from coalesce(products.category, '')
