-- grain: one row per recomputed session: its id (uuid5, computed in Python and copied in)
create temp table session_keys (
    session_number bigint primary key,
    session_id uuid not null
) on commit drop
