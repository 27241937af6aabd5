-- The rows of a per-visitor aggregate of the touched (date, visitor) pairs are removed.
-- Slots: table (agg_daily_visitors or agg_daily_product_visitors), date_column (its date).
delete from {table} as agg
using touched_visitor_days as days
where
    agg.{date_column} = days.activity_date
    and agg.anonymous_id = days.anonymous_id
