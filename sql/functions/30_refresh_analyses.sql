-- sql/013's analyses (DESIGN.md "Retention", "Site search", "Paths") of a set of visitors, from a
-- date on: each visitor's rows of retention_cohorts, retention_weeks, fact_searches and
-- fact_session_paths that may have changed are replaced from fact_sessions and fact_events, and
-- the aggregates move by the rows removed (-1) and inserted (+1).
--
-- visitors[i] is a visitor whose sessions changed and first_dates[i] a date on or before the
-- session_date of every session of theirs that was removed or inserted (Upsert passes
-- touched_visitors: clickstream/pipeline/analyses.py). Nothing before that date changed, so:
-- a cohort dated before it stays (its session did not change and no earlier one appeared); the
-- weeks from its week on, the searches and the paths from it on are computed again, from the
-- visitor's events from that date on (read by the (anonymous_id, ts) index). Every flag of a
-- search looks forward in its session only, so the events before the date are never needed.
-- rebuild_analyses() passes every visitor with '-infinity'. PL/pgSQL for its plans.
create or replace function refresh_analyses(visitors text[], first_dates date[]) returns void
language plpgsql
as $$
begin
    drop table if exists analysis_visitors, retention_deltas, search_deltas, path_deltas;

    -- grain: one row per visitor to refresh, with the first date (and its week) to replace
    create temp table analysis_visitors on commit drop as
    select
        anonymous_id,
        min(first_date) as first_date,
        date_trunc('week', min(first_date)::timestamp)::date as first_week
    from unnest(visitors, first_dates) as given (anonymous_id, first_date)
    group by anonymous_id;
    analyze analysis_visitors;

    ------------------------------------------------------------------ retention

    -- grain: one row per (cohort, week) a visitor counted in before (-1) or counts in now (+1)
    create temp table retention_deltas on commit drop as
    select
        cohorts.kind,
        cohorts.cohort_date,
        cohorts.device_type,
        cohorts.country,
        cohorts.channel,
        (weeks.week_start - date_trunc('week', cohorts.cohort_date::timestamp)::date) / 7 as week_offset,
        -1 as delta
    from analysis_visitors as visitors
    inner join retention_cohorts as cohorts on cohorts.anonymous_id = visitors.anonymous_id
    inner join retention_weeks as weeks
        on weeks.anonymous_id = cohorts.anonymous_id and weeks.kind = cohorts.kind;

    delete from retention_weeks as weeks
    using analysis_visitors as visitors
    where weeks.anonymous_id = visitors.anonymous_id and weeks.week_start >= visitors.first_week;

    -- grain: one row per (visitor, kind, week) with a session (of that kind) from the first week on
    insert into retention_weeks (anonymous_id, kind, week_start)
    select distinct
        sessions.anonymous_id,
        kinds.kind,
        date_trunc('week', sessions.session_date::timestamp)::date
    from analysis_visitors as visitors
    inner join fact_sessions as sessions
        on
            sessions.anonymous_id = visitors.anonymous_id
            and sessions.session_start >= visitors.first_week::timestamp at time zone 'UTC'
    cross join lateral (
        select 'visit' as kind
        union all
        select 'purchase' as kind where sessions.reached_purchase
    ) as kinds;

    delete from retention_cohorts as cohorts
    using analysis_visitors as visitors
    where cohorts.anonymous_id = visitors.anonymous_id and cohorts.cohort_date >= visitors.first_date;

    -- grain: one row per (visitor, kind) without a cohort: its first session (with a purchase) from
    -- the first date on (a visitor's sessions start at distinct times: session_id is of both)
    insert into retention_cohorts (anonymous_id, kind, cohort_date, device_type, country, channel)
    select distinct on (sessions.anonymous_id, kinds.kind)
        sessions.anonymous_id,
        kinds.kind,
        sessions.session_date,
        sessions.device_type,
        coalesce(sessions.country, ''),
        sessions.channel
    from analysis_visitors as visitors
    inner join fact_sessions as sessions
        on
            sessions.anonymous_id = visitors.anonymous_id
            and sessions.session_start >= visitors.first_date::timestamp at time zone 'UTC'
    cross join lateral (
        select 'visit' as kind
        union all
        select 'purchase' as kind where sessions.reached_purchase
    ) as kinds
    where not exists (
        select
        from retention_cohorts as kept
        where kept.anonymous_id = sessions.anonymous_id and kept.kind = kinds.kind
    )
    order by sessions.anonymous_id, kinds.kind, sessions.session_start;

    insert into retention_deltas
    select
        cohorts.kind,
        cohorts.cohort_date,
        cohorts.device_type,
        cohorts.country,
        cohorts.channel,
        (weeks.week_start - date_trunc('week', cohorts.cohort_date::timestamp)::date) / 7 as week_offset,
        1 as delta
    from analysis_visitors as visitors
    inner join retention_cohorts as cohorts on cohorts.anonymous_id = visitors.anonymous_id
    inner join retention_weeks as weeks
        on weeks.anonymous_id = cohorts.anonymous_id and weeks.kind = cohorts.kind;

    -- grain: one row per (kind, cohort_date, slice, week_offset)
    insert into agg_retention as agg (
        kind, cohort_date, device_type, country, channel, week_offset, count_visitors
    )
    select
        kind,
        cohort_date,
        device_type,
        country,
        channel,
        week_offset,
        sum(delta)::integer
    from retention_deltas
    group by kind, cohort_date, device_type, country, channel, week_offset
    having sum(delta) <> 0
    on conflict (kind, cohort_date, device_type, country, channel, week_offset)
    do update set count_visitors = agg.count_visitors + excluded.count_visitors;

    delete from agg_retention as agg
    using retention_deltas as deltas
    where
        agg.count_visitors = 0
        and agg.kind = deltas.kind
        and agg.cohort_date = deltas.cohort_date
        and agg.device_type = deltas.device_type
        and agg.country = deltas.country
        and agg.channel = deltas.channel
        and agg.week_offset = deltas.week_offset;

    -- grain: one row per (kind, cohort_date, week_offset)
    insert into agg_retention_all as agg (kind, cohort_date, week_offset, count_visitors)
    select
        kind,
        cohort_date,
        week_offset,
        sum(delta)::integer
    from retention_deltas
    group by kind, cohort_date, week_offset
    having sum(delta) <> 0
    on conflict (kind, cohort_date, week_offset)
    do update set count_visitors = agg.count_visitors + excluded.count_visitors;

    delete from agg_retention_all as agg
    using retention_deltas as deltas
    where
        agg.count_visitors = 0
        and agg.kind = deltas.kind
        and agg.cohort_date = deltas.cohort_date
        and agg.week_offset = deltas.week_offset;

    ------------------------------------------------------------------ site search and paths

    -- grain: one row per search removed (-1) or inserted (+1)
    create temp table search_deltas (
        event_date date,
        device_type text,
        country text,
        channel text,
        search_query text,
        delta integer,
        has_no_results boolean,
        viewed_product boolean,
        purchased boolean,
        exited boolean,
        searched_again boolean
    ) on commit drop;

    with removed as (
        delete from fact_searches as searches
        using analysis_visitors as visitors
        where searches.anonymous_id = visitors.anonymous_id and searches.event_date >= visitors.first_date
        returning searches.*
    )

    insert into search_deltas
    select
        event_date,
        device_type,
        country,
        channel,
        search_query,
        -1,
        has_no_results,
        viewed_product,
        purchased,
        exited,
        searched_again
    from removed;

    -- grain: one row per session path removed (-1) or inserted (+1)
    create temp table path_deltas (
        session_date date,
        device_type text,
        country text,
        channel text,
        step1 text,
        step2 text,
        step3 text,
        delta integer,
        purchased boolean
    ) on commit drop;

    with removed as (
        delete from fact_session_paths as paths
        using analysis_visitors as visitors
        where
            paths.anonymous_id = visitors.anonymous_id
            and paths.session_start >= visitors.first_date::timestamp at time zone 'UTC'
        returning paths.*
    )

    insert into path_deltas
    select
        session_date,
        device_type,
        country,
        channel,
        step1,
        step2,
        step3,
        -1,
        purchased
    from removed;

    -- The searches and the session paths of the visitors from their first date on, from one read of
    -- their page views and searches in session order; the rows inserted are the +1 deltas.
    with pages as materialized (
        -- grain: one row per page view or search, with whether a product view comes later in its
        -- session and whether the next page view or search is a search (null: none)
        select
            *,
            bool_or(product_view) over later as product_view_later,
            lead(is_search) over later as next_is_search
        from (
            select
                facts.event_id,
                facts.session_id,
                facts.ts,
                facts.event_type = 'search' as is_search,
                facts.event_type = 'view' and facts.product_id is not null as product_view,
                -- the page, as Paths shows it: a product's page as its category's product pages
                case
                    when facts.event_type = 'search' then null
                    when facts.product_id is not null
                        then 'product: ' || coalesce(nullif(facts.category, ''), '(no category)')
                    else coalesce(facts.page_path, '(unknown)')
                end as page,
                case when facts.event_type = 'search' then facts.anonymous_id end as anonymous_id,
                case when facts.event_type = 'search' then facts.event_date end as event_date,
                case when facts.event_type = 'search' then facts.search_query end as search_query,
                case when facts.event_type = 'search' then facts.props ->> 'results' end as results
            from analysis_visitors as visitors
            inner join fact_events as facts
                on
                    facts.anonymous_id = visitors.anonymous_id
                    and facts.ts >= visitors.first_date::timestamp at time zone 'UTC'
            where facts.event_type in ('view', 'search')
        ) as events
        -- (lead does not look at the frame: the next row of the session)
        window later as (
            partition by session_id order by ts, event_id rows between 1 following and unbounded following
        )
    ),

    -- grain: one row per session with a purchase that ends on or after the first date: its last
    -- purchase (a session's events lie between its start and its end: the (anonymous_id, ts)
    -- index reads those of the sessions with a purchase only)
    last_purchases as (
        select distinct on (sessions.session_id)
            sessions.session_id,
            facts.ts,
            facts.event_id
        from analysis_visitors as visitors
        inner join fact_sessions as sessions
            on
                sessions.anonymous_id = visitors.anonymous_id
                and sessions.session_end >= visitors.first_date::timestamp at time zone 'UTC'
                and sessions.reached_purchase
        inner join fact_events as facts
            on
                facts.anonymous_id = sessions.anonymous_id
                and facts.ts between sessions.session_start and sessions.session_end
                and facts.session_id = sessions.session_id
        where facts.event_type = 'purchase'
        order by sessions.session_id, facts.ts desc, facts.event_id desc
    ),

    searches_inserted as (
        insert into fact_searches (
            event_id,
            anonymous_id,
            session_id,
            event_date,
            device_type,
            country,
            channel,
            search_query,
            has_no_results,
            viewed_product,
            purchased,
            exited,
            searched_again
        )
        select
            searches.event_id,
            searches.anonymous_id,
            searches.session_id,
            searches.event_date,
            sessions.device_type,
            coalesce(sessions.country, ''),
            sessions.channel,
            coalesce(regexp_replace(lower(btrim(searches.search_query)), '\s+', ' ', 'g'), ''),
            coalesce(searches.results = '0', false),
            coalesce(searches.product_view_later, false),
            coalesce((purchases.ts, purchases.event_id) > (searches.ts, searches.event_id), false),
            searches.next_is_search is null,
            coalesce(searches.next_is_search, false)
        from pages as searches
        inner join fact_sessions as sessions on sessions.session_id = searches.session_id
        left join last_purchases as purchases on purchases.session_id = searches.session_id
        where searches.is_search
        returning
            event_date,
            device_type,
            country,
            channel,
            search_query,
            has_no_results,
            viewed_product,
            purchased,
            exited,
            searched_again
    ),

    searches_added as (
        insert into search_deltas
        select
            event_date,
            device_type,
            country,
            channel,
            search_query,
            1,
            has_no_results,
            viewed_product,
            purchased,
            exited,
            searched_again
        from searches_inserted
    ),

    paths_inserted as (
        insert into fact_session_paths (
            session_id,
            anonymous_id,
            session_start,
            session_date,
            device_type,
            country,
            channel,
            step1,
            step2,
            step3,
            purchased
        )
        select
            sessions.session_id,
            sessions.anonymous_id,
            sessions.session_start,
            sessions.session_date,
            sessions.device_type,
            coalesce(sessions.country, ''),
            sessions.channel,
            session_pages.pages[1],
            coalesce(session_pages.pages[2], ''),
            coalesce(session_pages.pages[3], ''),
            sessions.reached_purchase
        from analysis_visitors as visitors
        inner join fact_sessions as sessions
            on
                sessions.anonymous_id = visitors.anonymous_id
                and sessions.session_start >= visitors.first_date::timestamp at time zone 'UTC'
        inner join (
            -- grain: one row per session with a page view: its pages in order, a page (or a
            -- category's product pages) viewed again right after itself counted once
            select
                session_id,
                (array_agg(page order by ts, event_id))[1:3] as pages
            from (
                select
                    session_id,
                    ts,
                    event_id,
                    page,
                    lag(page) over (partition by session_id order by ts, event_id) as previous_page
                from pages
                where not is_search
            ) as views
            where previous_page is null or previous_page <> page
            group by session_id
        ) as session_pages on session_pages.session_id = sessions.session_id
        returning session_date, device_type, country, channel, step1, step2, step3, purchased
    )

    insert into path_deltas
    select session_date, device_type, country, channel, step1, step2, step3, 1, purchased
    from paths_inserted;

    -- grain: one row per (event_date, slice, search_query)
    insert into agg_daily_searches as agg (
        event_date,
        device_type,
        country,
        channel,
        search_query,
        count_searches,
        count_no_results,
        count_product_views,
        count_purchases,
        count_exits,
        count_searched_again
    )
    select
        event_date,
        device_type,
        country,
        channel,
        search_query,
        sum(delta)::integer,
        coalesce(sum(delta) filter (where has_no_results), 0)::integer,
        coalesce(sum(delta) filter (where viewed_product), 0)::integer,
        coalesce(sum(delta) filter (where purchased), 0)::integer,
        coalesce(sum(delta) filter (where exited), 0)::integer,
        coalesce(sum(delta) filter (where searched_again), 0)::integer
    from search_deltas
    group by event_date, device_type, country, channel, search_query
    on conflict (event_date, device_type, country, channel, search_query)
    do update set
        count_searches = agg.count_searches + excluded.count_searches,
        count_no_results = agg.count_no_results + excluded.count_no_results,
        count_product_views = agg.count_product_views + excluded.count_product_views,
        count_purchases = agg.count_purchases + excluded.count_purchases,
        count_exits = agg.count_exits + excluded.count_exits,
        count_searched_again = agg.count_searched_again + excluded.count_searched_again;

    delete from agg_daily_searches as agg
    using search_deltas as deltas
    where
        agg.count_searches = 0
        and agg.event_date = deltas.event_date
        and agg.device_type = deltas.device_type
        and agg.country = deltas.country
        and agg.channel = deltas.channel
        and agg.search_query = deltas.search_query;

    -- grain: one row per (event_date, search_query)
    insert into agg_daily_searches_all as agg (
        event_date,
        search_query,
        count_searches,
        count_no_results,
        count_product_views,
        count_purchases,
        count_exits,
        count_searched_again
    )
    select
        event_date,
        search_query,
        sum(delta)::integer,
        coalesce(sum(delta) filter (where has_no_results), 0)::integer,
        coalesce(sum(delta) filter (where viewed_product), 0)::integer,
        coalesce(sum(delta) filter (where purchased), 0)::integer,
        coalesce(sum(delta) filter (where exited), 0)::integer,
        coalesce(sum(delta) filter (where searched_again), 0)::integer
    from search_deltas
    group by event_date, search_query
    on conflict (event_date, search_query)
    do update set
        count_searches = agg.count_searches + excluded.count_searches,
        count_no_results = agg.count_no_results + excluded.count_no_results,
        count_product_views = agg.count_product_views + excluded.count_product_views,
        count_purchases = agg.count_purchases + excluded.count_purchases,
        count_exits = agg.count_exits + excluded.count_exits,
        count_searched_again = agg.count_searched_again + excluded.count_searched_again;

    delete from agg_daily_searches_all as agg
    using search_deltas as deltas
    where
        agg.count_searches = 0
        and agg.event_date = deltas.event_date
        and agg.search_query = deltas.search_query;

    -- grain: one row per (session_date, slice, step1, step2, step3)
    insert into agg_daily_paths as agg (
        session_date,
        device_type,
        country,
        channel,
        step1,
        step2,
        step3,
        count_sessions,
        count_purchase_sessions
    )
    select
        session_date,
        device_type,
        country,
        channel,
        step1,
        step2,
        step3,
        sum(delta)::integer,
        coalesce(sum(delta) filter (where purchased), 0)::integer
    from path_deltas
    group by session_date, device_type, country, channel, step1, step2, step3
    on conflict (session_date, device_type, country, channel, step1, step2, step3)
    do update set
        count_sessions = agg.count_sessions + excluded.count_sessions,
        count_purchase_sessions = agg.count_purchase_sessions + excluded.count_purchase_sessions;

    delete from agg_daily_paths as agg
    using path_deltas as deltas
    where
        agg.count_sessions = 0
        and agg.session_date = deltas.session_date
        and agg.device_type = deltas.device_type
        and agg.country = deltas.country
        and agg.channel = deltas.channel
        and agg.step1 = deltas.step1
        and agg.step2 = deltas.step2
        and agg.step3 = deltas.step3;

    -- grain: one row per (session_date, step1, step2, step3)
    insert into agg_daily_paths_all as agg (
        session_date, step1, step2, step3, count_sessions, count_purchase_sessions
    )
    select
        session_date,
        step1,
        step2,
        step3,
        sum(delta)::integer,
        coalesce(sum(delta) filter (where purchased), 0)::integer
    from path_deltas
    group by session_date, step1, step2, step3
    on conflict (session_date, step1, step2, step3)
    do update set
        count_sessions = agg.count_sessions + excluded.count_sessions,
        count_purchase_sessions = agg.count_purchase_sessions + excluded.count_purchase_sessions;

    delete from agg_daily_paths_all as agg
    using path_deltas as deltas
    where
        agg.count_sessions = 0
        and agg.session_date = deltas.session_date
        and agg.step1 = deltas.step1
        and agg.step2 = deltas.step2
        and agg.step3 = deltas.step3;
end
$$;

-- sql/013's tables from scratch: emptied, then every visitor of fact_sessions refreshed from the
-- start (for sql/013's backfill, sql/backfills/013_analyses.sql, rebuild_dashboard_rollups() and
-- the tests).
create or replace function rebuild_analyses() returns void
language plpgsql
as $$
begin
    truncate retention_cohorts, retention_weeks, agg_retention, agg_retention_all, fact_searches,
        agg_daily_searches, agg_daily_searches_all, fact_session_paths, agg_daily_paths, agg_daily_paths_all;
    perform refresh_analyses(
        array(select distinct anonymous_id from fact_sessions),
        array(select '-infinity'::date from (select distinct anonymous_id from fact_sessions) as visitors)
    );
end
$$;
