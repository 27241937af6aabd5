-- what followed the searches of search rows (agg_daily_searches' or agg_daily_searches_all's
-- counts), summed
sum(count_searches)::integer as searches,
sum(count_no_results)::integer as no_results,
sum(count_product_views)::integer as product_views,
sum(count_purchases)::integer as purchases,
sum(count_exits)::integer as exits,
sum(count_searched_again)::integer as searched_again
