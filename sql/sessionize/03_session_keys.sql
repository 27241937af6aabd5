-- The temp table of the recomputed sessions' ids (uuid5, computed in Python and copied in).
-- grain: one row per recomputed session
create temp table session_keys (
    session_number bigint primary key,
    session_id uuid not null
) on commit drop
