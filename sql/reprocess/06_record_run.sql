-- The run's row says which partitions it re-derived. Parameters: execution, first, last.
-- grain: one row per execution
update etl_runs
set
    reprocess_from = %(first)s,
    reprocess_to = %(last)s
where execution_name = %(execution)s
