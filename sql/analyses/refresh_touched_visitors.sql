-- sql/013's analyses of the visitors whose sessions the run changed (sql/functions/30_refresh_analyses.sql),
-- each from its first touched date on. Slot: visitors, a temp table (anonymous_id, first_date).
select refresh_analyses(
    array(select visitors.anonymous_id from {visitors} as visitors order by visitors.anonymous_id),
    array(select visitors.first_date from {visitors} as visitors order by visitors.anonymous_id)
)
