"""Reconciliation as a property: random runs with overlaps, against a real PostgreSQL.

For any run (batches of objects sharing event ids with each other and with
what an earlier run loaded, objects redelivered, rejects): per object and in
total lines_read = loaded + duplicates + rejected; fact_events holds exactly
the distinct event ids of every committed object; each event's row is its
first copy in (batch, object) order; and loading the run again changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clickstream.core import db
from clickstream.core.storage import Lake
from clickstream.pipeline import load
from tests.support.staged import BASE_TS, StagedObjectSpec, Stager, raw_key, reset_warehouse, staged_event

POOL = [str(uuid.uuid5(uuid.NAMESPACE_OID, str(i))) for i in range(24)]


@dataclass
class Obj:
    name: str
    ids: list[int]  # positions in POOL, repeats allowed (transform's in-batch dedupe applies)
    rejected: int


objects_st = st.builds(
    Obj,
    name=st.sampled_from(["a", "b", "c", "d", "e", "f", "prior"]),  # a repeated name: a redelivered object
    ids=st.lists(st.integers(0, len(POOL) - 1), max_size=8),
    rejected=st.integers(0, 3),
)
runs_st = st.lists(st.lists(objects_st, min_size=1, max_size=3), min_size=1, max_size=4)
prior_st = st.sets(st.integers(0, len(POOL) - 1), max_size=10)


def stage(stager: Stager, execution: str, batches: list[list[Obj]]) -> tuple[str, dict[str, Any]]:
    """Write the run as transform would (in-batch dedupe); return the worklist and the expected result."""
    keys: list[str] = []
    staged: list[tuple[int, int, str, list[int], int, int]] = []  # batch, src, key, ids, dups, rejected
    for b, objs in enumerate(batches):
        in_batch: set[int] = set()
        specs = []
        for src, obj in enumerate(objs):
            kept = []
            for i in obj.ids:
                if i not in in_batch:
                    in_batch.add(i)
                    kept.append(i)
            dups = len(obj.ids) - len(kept)
            key = raw_key(f"{execution}-{obj.name}") if obj.name != "prior" else raw_key("prior")
            events = [staged_event(POOL[i], anonymous_id=f"{b}-{src}") for i in kept]
            specs.append(StagedObjectSpec(key, events, duplicates=dups, rejects={"bad": obj.rejected}))
            staged.append((b, src, key, kept, dups, obj.rejected))
        keys.append(stager.batch(execution, b, specs))
    return stager.worklist(execution, keys), {"staged": staged}


def expected(staged: list[tuple[int, int, str, list[int], int, int]], prior: set[int]) -> dict[str, Any]:
    """The model: which objects commit, and where each loaded event comes from."""
    seen_keys = {raw_key("prior")}
    first_copy: dict[int, str] = {}
    per_object: dict[str, tuple[int, int, int, int]] = {}
    for b, src, key, ids, dups, rejected in staged:  # already in (batch, src) order
        if key in seen_keys:
            continue  # processed before, or listed twice: skipped
        seen_keys.add(key)
        loaded = 0
        for i in ids:
            if i not in prior and i not in first_copy:
                first_copy[i] = f"{b}-{src}"
                loaded += 1
        lines_read = len(ids) + dups + rejected
        per_object[key] = (lines_read, loaded, lines_read - loaded - rejected, rejected)
    return {"per_object": per_object, "first_copy": first_copy}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=runs_st, prior=prior_st)
def test_counts_reconcile_and_facts_are_the_distinct_valid_events(
    database_url: str, lake: Lake, stager: Stager, batches: list[list[Obj]], prior: set[int]
) -> None:
    reset_warehouse(database_url)
    run = f"exec-{uuid.uuid4().hex[:8]}"
    # Given an earlier run that loaded some of the ids (object "prior")
    prior_batch = stager.batch(
        f"{run}-prior",
        0,
        [StagedObjectSpec(raw_key("prior"), [staged_event(POOL[i]) for i in sorted(prior)])],
    )
    with db.connect(database_url) as conn:
        load.upsert(
            conn,
            lake,
            execution=f"{run}-prior",
            hour=BASE_TS,
            worklist_key=stager.worklist(f"{run}-prior", [prior_batch]),
        )
    worklist, staged = stage(stager, run, batches)
    model = expected(staged["staged"], prior)

    # When the run is upserted
    with db.connect(database_url) as conn:
        result = load.upsert(conn, lake, execution=run, hour=BASE_TS, worklist_key=worklist)

    # Then the counts reconcile per object and in total, and match the model
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "select object_key, lines_read, loaded, duplicates, rejected from etl_processed_objects"
            " where execution_name = %s",
            (run,),
        ).fetchall()
        facts: dict[str, str] = dict(
            conn.execute("select event_id::text, anonymous_id from fact_events").fetchall()
        )
        reject_total = conn.execute(
            "select coalesce(sum(count_lines), 0) from etl_rejects"
            " join etl_processed_objects using (object_key) where execution_name = %s",
            (run,),
        ).fetchone()
    per_object = {key: (lr, ld, dp, rj) for key, lr, ld, dp, rj in rows}
    assert per_object == model["per_object"]
    for lines_read, loaded, duplicates, rejected in per_object.values():
        assert lines_read == loaded + duplicates + rejected
    assert result["lines_read"] == result["loaded"] + result["duplicates"] + result["rejected"]
    assert result["loaded"] == len(model["first_copy"])
    assert reject_total == (result["rejected"],)
    assert set(facts) == {POOL[i] for i in prior} | {POOL[i] for i in model["first_copy"]}
    assert {POOL[i]: tag for i, tag in model["first_copy"].items()} == {
        e: tag for e, tag in facts.items() if e in {POOL[i] for i in model["first_copy"]}
    }

    # And the same run (or its batches under another execution) loads nothing more
    with db.connect(database_url) as conn:
        again = load.upsert(conn, lake, execution=f"{run}-again", hour=BASE_TS, worklist_key=worklist)
    assert again["loaded"] == 0 and again["objects"] == 0
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*) from fact_events").fetchone() == (len(facts),)
