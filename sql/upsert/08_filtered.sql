-- Filtered lines (bot and spam rules, docs/BOTS.md) of the committed objects, by reason and
-- family (executemany, one set of parameters per object, reason and family).
-- grain: one row per (raw object, reason, family)
insert into etl_filtered (object_key, reason, family, count_lines, partition_hour)
values (%s, %s, %s, %s, %s)
