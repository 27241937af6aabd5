-- The table of the backfills run on this database (sql/backfills/, clickstream/core/migrate.py),
-- or recorded as done when an old migration file ran its backfill itself (sql/migrate/rewritten.txt).
-- grain: one row per backfill file run or recorded
-- Slot: table (BACKFILLS_TABLE).
create table if not exists {table} (
    version integer primary key,        -- the version of the migration it belongs to
    name text not null,
    applied_at timestamptz not null default now()
)
