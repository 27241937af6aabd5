-- The touched visitors' stored events since their first touched date (temp table), read once
-- (by the visitor/ts index) for the per-visitor aggregates and the visitor's chains of days: a
-- superset of the events of the touched (date, visitor) pairs.
-- grain: one row per stored event of a touched visitor since its first touched date
create temp table touched_visitor_events on commit drop as
select
    facts.anonymous_id,
    facts.event_date,
    facts.session_id,
    facts.event_type,
    facts.product_id,
    facts.currency,
    facts.qty,
    facts.revenue
from touched_visitors as visitors
inner join fact_events as facts
    on
        facts.anonymous_id = visitors.anonymous_id
        and facts.ts >= visitors.first_date::timestamp at time zone 'UTC'
        and facts.event_date >= visitors.first_date
