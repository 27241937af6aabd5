-- The stretches of each visitor's time that the run sessionizes again (temp table session_ranges).
-- grain: one row per visitor and stretch of time to sessionize again
-- The seeds are the run's new events (stage_new) and, when the unsessionized slot is true, the
-- stored events that never got a session (loaded before sql/004). A visitor's seeds with no gap
-- over the session gap form an island; the stored sessions with an event within the gap of an
-- island are the touched sessions; overlapping islands and touched sessions make one range.
-- Slots: gap (the session gap, an interval literal), unsessionized (a boolean literal).
create temp table session_ranges on commit drop as
with new_events as (
    select
        anonymous_id,
        ts
    from stage_new
),

unsessionized_events as (
    select
        anonymous_id,
        ts
    from fact_events
    where {unsessionized}
        and session_id is null
),

seeds as (
    select * from new_events
    union all
    select * from unsessionized_events
),

seeds_flagged as (
    select
        anonymous_id,
        ts,
        coalesce(
            ts - lag(ts) over (partition by anonymous_id collate "C" order by ts) > interval {gap}, true
        ) as is_island_start
    from seeds
),

seeds_numbered as (
    select
        anonymous_id,
        ts,
        count(*) filter (where is_island_start) over (
            partition by anonymous_id collate "C"
            order by ts
            rows between unbounded preceding and current row
        ) as island_number
    from seeds_flagged
),

-- one row per island: a visitor's seeds with no gap over 30 minutes
islands as (
    select
        anonymous_id,
        min(ts) as island_start,
        max(ts) as island_end
    from seeds_numbered
    group by
        anonymous_id,
        island_number
),

-- a stored event within 30 minutes of a seed joins its session: every stored event within
-- 30 minutes of an island's ends or inside it is (seeds of an island are <= 30 minutes apart)
touched_sessions as (
    select distinct facts.session_id
    from islands
    inner join fact_events as facts
        on
            facts.anonymous_id = islands.anonymous_id
            and facts.ts >= islands.island_start - interval {gap}
            and facts.ts <= islands.island_end + interval {gap}
    where facts.session_id is not null
),

spans as (
    select
        anonymous_id,
        island_start as span_start,
        island_end as span_end,
        null::uuid as session_id
    from islands
    union all
    select
        sessions.anonymous_id,
        sessions.session_start as span_start,
        sessions.session_end as span_end,
        sessions.session_id
    from touched_sessions
    inner join fact_sessions as sessions on sessions.session_id = touched_sessions.session_id
),

spans_flagged as (
    select
        *,
        coalesce(
            span_start > max(span_end) over (
                partition by anonymous_id collate "C"
                order by span_start, span_end
                rows between unbounded preceding and 1 preceding
            ),
            true
        ) as is_range_start
    from spans
),

spans_numbered as (
    select
        *,
        count(*) filter (where is_range_start) over (
            partition by anonymous_id collate "C"
            order by span_start, span_end
            rows between unbounded preceding and current row
        ) as range_number
    from spans_flagged
),

-- one row per visitor and stretch of time to sessionize again: overlapping islands and
-- touched sessions merged; the stored events in it are exactly those of the touched sessions
ranges as (
    select
        anonymous_id,
        min(span_start) as range_start,
        max(span_end) as range_end,
        array_agg(session_id) filter (where session_id is not null) as touched_session_ids
    from spans_numbered
    group by
        anonymous_id,
        range_number
)

select * from ranges
