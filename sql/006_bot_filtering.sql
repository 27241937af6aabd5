-- 006: bot and spam filtering (docs/BOTS.md). Transform counts the valid lines that a bot or
-- spam rule filters instead of staging them; the load keeps them, per object, by reason and
-- family, and per run with the version of the rules, so that per object and per run
--     lines_read = loaded + duplicates + rejected + filtered.

alter table etl_processed_objects add column filtered integer not null default 0;

alter table etl_runs add column filtered bigint not null default 0;
alter table etl_runs add column rules_version text;

-- one row per (object, reason, family): filtered lines, committed with the object
create table etl_filtered (
    object_key text not null references etl_processed_objects (object_key),
    reason text not null,               -- bot_user_agent, referrer_spam
    family text not null,               -- the bot (Googlebot, HeadlessChrome) or the spam domain
    count_lines integer not null,
    partition_hour timestamptz not null,
    primary key (object_key, reason, family)
);
create index etl_filtered_partition_hour_idx on etl_filtered (partition_hour);
