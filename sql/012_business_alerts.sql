-- 012: business alerts (docs/DESIGN.md "Business alerts"). Each day is checked once, by the run
-- whose watermark completed it; the row is the proof, so a retry, a redrive or a rerun of any
-- hour never alerts a day twice (a retry of the same run gets the same message back).

-- one row per day that a run checked against its same-weekday baseline
create table etl_business_alerts (
    alert_date date primary key,
    execution_name text not null,           -- the run that checked it ($.run.name, kept by a redrive)
    checked_at timestamptz not null default now(),
    alerted boolean not null,               -- a deviation beyond the threshold: the run published
    baseline_dates date[] not null,         -- the same weekdays the baseline is the median of
    summary text not null,                  -- the day's part of the message (or why it did not alert)
    deviations jsonb not null default '[]'::jsonb
);
