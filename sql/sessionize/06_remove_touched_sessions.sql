-- The touched sessions are removed (their revenue cascades); returns their dates.
delete from fact_sessions
where session_id in (
    select unnest(touched_session_ids)
    from session_ranges
)
returning session_date
