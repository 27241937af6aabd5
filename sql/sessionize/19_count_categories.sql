-- visitor_category_products: the categories the recategorized products' days are counted under now.
insert into visitor_category_products (product_id, category)
select
    product_id,
    category
from recategorized_products
on conflict (product_id) do update
set category = excluded.category
