-- The table of the migrations applied to this database (clickstream/core/migrate.py).
-- grain: one row per migration file applied
-- Slot: table (MIGRATIONS_TABLE).
create table if not exists {table} (
    version integer primary key,
    name text not null,
    checksum text not null,             -- sha256 of the file's bytes, hex
    applied_at timestamptz not null default now()
)
