-- per period: distinct visitors with an event in it, without slice filters (traffic/visitors_in_period.sql)
-- grain: one row per period ('current', 'previous') with visitors
{current}

union all

{previous}
