-- sql/005's chains of days (visitor_activity_days) replaced for a set of visitors from a first
-- date on, and agg_daily_visitor_gaps moved by the days removed (-1) and inserted (+1). The one
-- definition of these tables: the load calls it for the visitors it touched (from their first
-- touched date; clickstream/pipeline/sessionize.py), rebuild_dashboard_rollups() for every visitor
-- from the start.
--
-- visitors: a table (anonymous_id, first_date); kinds: the kinds of day to replace. The days come
-- from the per-visitor aggregates of sql/003 (agg_daily_visitors, agg_daily_product_visitors),
-- which must already hold the visitors' days, and the category days from
-- visitor_category_products.
create or replace function replace_visitor_days(visitors regclass, kinds text[]) returns void
language plpgsql
as $function$
begin
    drop table if exists pg_temp.visitor_day_set, pg_temp.visitor_day_changes, pg_temp.visitor_gap_deltas;
    -- the visitors under one name, so that the statements below are static
    execute format(
        'create temp table visitor_day_set on commit drop as select anonymous_id, first_date from %s', visitors
    );
    analyze visitor_day_set;

    -- grain: one row per day removed, with its gap (delta -1)
    create temp table visitor_day_changes on commit drop as
    select kind, activity_date, item, gap_days, -1 as delta
    from visitor_activity_days
    limit 0;

    with removed as (
        delete from visitor_activity_days as days
        using visitor_day_set as visitors
        where
            days.anonymous_id = visitors.anonymous_id
            and days.activity_date >= visitors.first_date
            and days.kind = any(kinds)
        returning
            days.kind,
            days.activity_date,
            days.item,
            days.gap_days
    )

    insert into visitor_day_changes (kind, activity_date, item, gap_days, delta)
    select
        kind,
        activity_date,
        item,
        gap_days,
        -1
    from removed;

    -- grain: one row per (kind, activity_date, item, gap_days) whose count of visitors changes
    create temp table visitor_gap_deltas (
        kind text,
        activity_date date,
        item text,
        gap_days integer,
        delta integer
    ) on commit drop;

    -- The new days, grain: one row per (visitor, kind, item, activity_date) since the visitor's
    -- first date, inserted as they are computed (in the window's order, the key's) and returned as
    -- the gap counts' +1 changes (no temp table of them). A visitor's rows of these kinds left in
    -- visitor_activity_days are those before its first date, so the latest of them is the day
    -- before a chain's first day since.
    with new_days as (
        insert into visitor_activity_days (anonymous_id, kind, item, activity_date, gap_days)
            with since as (
                select min(first_date) as first_date
                from visitor_day_set
            ),

            -- has_kept: whether the visitor has a day of any kind before its first date left (one
            -- probe per visitor); without one, none of its chains has a day before (no probe per
            -- chain below)
            visitors as (
                select
                    visitor_day_set.anonymous_id,
                    visitor_day_set.first_date,
                    exists (
                        select
                        from visitor_activity_days as kept
                        where
                            kept.anonymous_id = visitor_day_set.anonymous_id
                            and kept.activity_date < visitor_day_set.first_date
                    ) as has_kept
                from visitor_day_set
            ),

            visitor_days as (
                select distinct
                    agg.anonymous_id,
                    agg.activity_date,
                    visitors.has_kept
                from agg_daily_visitors as agg
                inner join visitors
                    on
                        visitors.anonymous_id = agg.anonymous_id
                        and agg.activity_date >= visitors.first_date
                where agg.activity_date >= (select since.first_date from since)
            ),

            product_days as (
                select
                    agg.anonymous_id,
                    agg.product_id,
                    agg.event_date as activity_date,
                    visitors.has_kept,
                    sum(agg.count_views) > 0 as viewed,
                    sum(agg.count_add_to_carts) > 0 as added,
                    sum(agg.count_purchases) > 0 as bought
                from agg_daily_product_visitors as agg
                inner join visitors
                    on
                        visitors.anonymous_id = agg.anonymous_id
                        and agg.event_date >= visitors.first_date
                where agg.event_date >= (select since.first_date from since)
                group by
                    agg.anonymous_id,
                    agg.product_id,
                    agg.event_date,
                    visitors.has_kept
            ),

            category_days as (
                select
                    product_days.anonymous_id,
                    coalesce(categories.category, '') as category,
                    product_days.activity_date,
                    product_days.has_kept,
                    bool_or(product_days.viewed) as viewed,
                    bool_or(product_days.added) as added,
                    bool_or(product_days.bought) as bought
                from product_days
                left join visitor_category_products as categories
                    on categories.product_id = product_days.product_id
                group by 1, 2, 3, 4
            ),

            -- each kind only when asked for (a constant filter: the others are not computed)
            days as (
                select anonymous_id, 'event' as kind, '' as item, activity_date, has_kept
                from visitor_days where 'event' = any(kinds)
                union all
                select anonymous_id, 'view', product_id, activity_date, has_kept
                from product_days where viewed and 'view' = any(kinds)
                union all
                select anonymous_id, 'add_to_cart', product_id, activity_date, has_kept
                from product_days where added and 'add_to_cart' = any(kinds)
                union all
                select anonymous_id, 'purchase', product_id, activity_date, has_kept
                from product_days where bought and 'purchase' = any(kinds)
                union all
                select distinct anonymous_id, 'any_view', '', activity_date, has_kept
                from product_days where viewed and 'any_view' = any(kinds)
                union all
                select distinct anonymous_id, 'any_add_to_cart', '', activity_date, has_kept
                from product_days where added and 'any_add_to_cart' = any(kinds)
                union all
                select distinct anonymous_id, 'any_purchase', '', activity_date, has_kept
                from product_days where bought and 'any_purchase' = any(kinds)
                union all
                select anonymous_id, 'category_view', category, activity_date, has_kept
                from category_days where viewed and 'category_view' = any(kinds)
                union all
                select anonymous_id, 'category_add_to_cart', category, activity_date, has_kept
                from category_days where added and 'category_add_to_cart' = any(kinds)
                union all
                select anonymous_id, 'category_purchase', category, activity_date, has_kept
                from category_days where bought and 'category_purchase' = any(kinds)
            ),

            days_with_previous as (
                select
                    *,
                    lag(activity_date) over (
                        partition by anonymous_id collate "C", kind collate "C", item collate "C"
                        order by activity_date
                    ) as previous_date
                from days
            )

            select
                days.anonymous_id,
                days.kind,
                days.item,
                days.activity_date,
                coalesce(
                    days.activity_date - coalesce(
                        days.previous_date,
                        case when days.has_kept then (
                            select max(kept.activity_date)
                            from visitor_activity_days as kept
                            where
                                kept.anonymous_id = days.anonymous_id
                                and kept.kind = days.kind
                                and kept.item = days.item
                        ) end
                    ),
                    0
                ) as gap_days
            from days_with_previous as days
        returning
            kind,
            activity_date,
            item,
            gap_days
    ),

    changes as (
        select kind, activity_date, item, gap_days, delta
        from visitor_day_changes
        union all
        select kind, activity_date, item, gap_days, 1 as delta
        from new_days
    )

    insert into visitor_gap_deltas (kind, activity_date, item, gap_days, delta)
    select
        kind,
        activity_date,
        item,
        gap_days,
        sum(delta)::integer as delta
    from changes
    group by kind, activity_date, item, gap_days
    having sum(delta) <> 0;

    insert into agg_daily_visitor_gaps as agg (kind, activity_date, item, gap_days, count_visitors)
    select
        kind,
        activity_date,
        item,
        gap_days,
        delta
    from visitor_gap_deltas
    on conflict (kind, activity_date, item, gap_days) do update
    set count_visitors = agg.count_visitors + excluded.count_visitors;

    -- the gap rows the deltas brought to zero visitors
    delete from agg_daily_visitor_gaps as agg
    using visitor_gap_deltas as deltas
    where
        agg.kind = deltas.kind
        and agg.activity_date = deltas.activity_date
        and agg.item = deltas.item
        and agg.gap_days = deltas.gap_days
        and agg.count_visitors = 0;
end;
$function$;

-- Every visitor from the start: what rebuild_dashboard_rollups() replaces.
-- grain: one row per visitor with a day in agg_daily_visitors
create or replace view visitors_from_the_start as
select distinct
    anonymous_id,
    date '0001-01-01' as first_date
from agg_daily_visitors;
