-- The temp table of the changes to visitor_activity_days: -1 for a day removed, +1 added.
-- grain: one row per (kind, activity_date, item, gap_days) change
-- Slot: changes (the temp table's name).
create temp table {changes} (
    kind text not null,
    activity_date date not null,
    item text not null,
    gap_days integer not null,
    delta integer not null
) on commit drop
