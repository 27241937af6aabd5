-- AdvanceWatermark: the watermark (one row) moves to greatest(current, hour); the execution and
-- the time are those of the last move.
insert into etl_watermark (id, watermark_hour, execution_name, updated_at)
values (true, %(hour)s, %(execution)s, now())
on conflict (id) do update
set
    watermark_hour = greatest(etl_watermark.watermark_hour, excluded.watermark_hour),
    execution_name = case
        when excluded.watermark_hour > etl_watermark.watermark_hour
            then excluded.execution_name
        else etl_watermark.execution_name
    end,
    updated_at = case
        when excluded.watermark_hour > etl_watermark.watermark_hour then now()
        else etl_watermark.updated_at
    end
