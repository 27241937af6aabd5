"""The operator's commands on the real local stack: they refuse what would do harm, say what they did,
and show where everything went (issue 14, items 1-4 and the status filters of 6).

One stack for the module (tests/e2e/conftest.py); each test uses hours of its own, in order, since
the watermark is the stack's. A few small objects per hour: the point is what the commands do.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clickstream.core.lake import (
    execution_name,
    floor_hour,
    hour_label,
    parse_hour,
    partition_prefix,
    quarantine_key,
    rejects_key,
)
from tests.support.stack import RunningStack

EXIT = {"ok": 0, "failed": 1, "refused": 2}


def event(hour: datetime, n: int, tag: str) -> dict[str, str]:
    at = hour + timedelta(minutes=5, seconds=n)
    return {
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"operator/{tag}/{n}")),
        "ts": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "received_at": (at + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "event_type": "view",
        "session_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"operator/{tag}/session")),
        "anonymous_id": f"operator-{tag}",
        "page_url": "https://shop.example.com/p/thinkpad-x1",
    }


def ndjson(hour: datetime, count: int, tag: str) -> bytes:
    return b"\n".join(json.dumps(event(hour, n, tag)).encode() for n in range(count)) + b"\n"


def put(stack: RunningStack, hour: datetime, count: int, tag: str) -> str:
    """An object received in the hour, put straight into its partition (as ingest does)."""
    key = f"{partition_prefix(hour)}events-{tag}.ndjson.gz"
    stack.lake.put_bytes(key, gzip.compress(ndjson(hour, count, tag)))
    return key


def facts(stack: RunningStack, tag: str) -> int:
    return int(stack.scalar("select count(*) from fact_events where anonymous_id = %s", (f"operator-{tag}",)))


def status_json(stack: RunningStack) -> dict:
    return json.loads(stack.cli("status", "--json").stdout)


def waiting_by_partition(status: dict) -> dict[str, tuple[int, str]]:
    return {p["hour"]: (p["objects"], p["taken_by"]) for p in status["waiting"]["partitions"]}


# ----------------------------------------------------------------- 1. hours are closed before they run


def test_an_hour_that_has_not_ended_is_refused_and_the_watermark_never_passes_the_last_closed_hour(
    stack: RunningStack,
) -> None:
    now = datetime.now(UTC)
    current = floor_hour(now)
    open_key = put(stack, current, 3, "open-hour")  # data a run of the open hour would take

    # run, on the local stack and against a deployed one: refused before anything starts
    closes = {
        hour_label(current): (current + timedelta(hours=1)),
        "2030-01-01T00": parse_hour("2030-01-01T01"),
    }
    for extra in ([], ["--state-machine-arn", stack.info.state_machine_arn]):
        for hour, at in closes.items():
            result = stack.cli("run", "--hour", hour, *extra, check=False)
            assert result.returncode == EXIT["refused"], result.stdout + result.stderr
            assert f"hour {hour} has not ended yet: it closes at {at:%Y-%m-%dT%H:%M}Z" in result.stderr

    # backfill into the open hour: refused whole, nothing started
    result = stack.cli(
        "backfill",
        "--from",
        hour_label(current - timedelta(hours=2)),
        "--to",
        hour_label(current),
        check=False,
    )
    assert result.returncode == EXIT["refused"]
    assert "nothing was started" in result.stderr
    assert stack.op.list_executions() == []

    # an execution started by hand (the console, the AWS CLI) with an open or future hour fails in
    # ListNew, before listing anything, and the watermark does not move
    for name, hour in (("hand-started-open", current), ("hand-started-2030", parse_hour("2030-01-01T00"))):
        arn = stack.sfn.start_execution(
            stateMachineArn=stack.info.state_machine_arn,
            name=name,
            input=json.dumps({"hour": hour.strftime("%Y-%m-%dT%H:00:00Z")}),
        )["executionArn"]
        assert stack.op.wait(arn, timeout_s=120)["status"] == "FAILED"
        report = stack.op.report(arn)
        assert report.error == "HourNotClosed"
        assert "has not ended yet" in (report.cause or "")
        assert [s.name for s in report.states][:3] == ["Start", "Begin", "ListNew"]
        assert "TransformPartitions" not in [s.name for s in report.states]
    assert stack.scalar("select count(*) from etl_watermark") == 0
    assert stack.scalar("select count(*) from etl_processed_objects") == 0

    # the status filter says that executions outside the hours' naming are not hours
    listed = stack.cli("executions", "--status", "FAILED").stdout
    assert "no hours whose latest execution is FAILED" in listed
    assert "hand-started-2030" in listed and "--every" in listed

    stack.lake.client.delete_object(Bucket=stack.lake.bucket, Key=open_key)


# ----------------------------------------------------------------- 2. redrive means redrive


def test_redrive_refuses_a_running_hour_a_succeeded_hour_without_rerun_and_an_hour_that_never_ran(
    stack: RunningStack,
) -> None:
    hour = parse_hour("2025-08-04T10")
    label = hour_label(hour)
    put(stack, hour, 5, "redrive")

    # an hour that never ran: nothing to redrive; run it
    never = stack.cli("redrive", "--hour", label, check=False)
    assert never.returncode == EXIT["refused"]
    assert f"hour {label} never ran" in never.stderr
    assert f"clickstream run --hour {label}" in never.stderr

    # an hour whose execution is RUNNING (its ListNew held 20 s): no second execution beside it
    stack.faults({"list_new": [{"sleep": 20}]})
    arn = stack.op.start(hour)
    running = stack.cli("redrive", "--hour", label, check=False)
    assert running.returncode == EXIT["refused"], running.stdout + running.stderr
    assert f"hour {label} is running ({execution_name(hour)}" in running.stderr
    again = stack.cli("run", "--hour", label, "--rerun", check=False)
    assert again.returncode == EXIT["refused"]
    assert "is running" in again.stderr
    assert [r["name"] for r in stack.op.hour_executions(hour)] == [execution_name(hour)]
    waited = stack.cli("run", "--hour", label)  # run waits for the running one, starts nothing
    assert f"hour {label} is running already" in waited.stdout
    assert f"SUCCEEDED {execution_name(hour)}" in waited.stdout
    assert stack.op.wait(arn)["status"] == "SUCCEEDED"
    assert facts(stack, "redrive") == 5

    # a SUCCEEDED hour: said so, and only an explicit --rerun runs it again (changing nothing)
    succeeded = stack.cli("redrive", "--hour", label, check=False)
    assert succeeded.returncode == EXIT["refused"]
    assert f"hour {label} succeeded ({execution_name(hour)}" in succeeded.stderr
    assert f"clickstream redrive --hour {label} --rerun" in succeeded.stderr
    rerun = stack.cli("redrive", "--hour", label, "--rerun")
    assert f"SUCCEEDED {execution_name(hour)}-r2" in rerun.stdout
    assert facts(stack, "redrive") == 5

    # --execution: only the hour's latest execution can be redriven
    old = stack.cli("redrive", "--execution", execution_name(hour), check=False)
    assert old.returncode == EXIT["refused"]
    assert f"{execution_name(hour)}-r2 is" in old.stderr and "not the latest" in old.stderr

    # an hour that has not ended
    current = hour_label(floor_hour(datetime.now(UTC)))
    assert "has not ended yet" in stack.cli("redrive", "--hour", current, check=False).stderr

    # the exit codes are in --help; booleans print yes/no
    assert re.search(
        r"exit status:.*0 +succeeded.*1 +an execution failed.*2 +refused",
        "".join(stack.cli("redrive", "--help").stdout.split("\n")),
    )
    shown = stack.cli("execution", f"{execution_name(hour)}-r2").stdout
    assert re.search(r"\breplayed +no\b", shown), shown


def test_executions_status_failed_is_what_redrive_all_failed_takes(stack: RunningStack) -> None:
    hour = parse_hour("2025-08-04T12")
    label, name = hour_label(hour), execution_name(hour)
    put(stack, hour, 4, "failed")
    stack.faults({"load": [{"error": "ConfigurationError", "action": "upsert", "times": -1}]})
    assert stack.cli("run", "--hour", label, check=False).returncode == EXIT["failed"]

    def failed_names(*extra: str) -> list[str]:
        return [
            r["name"]
            for r in json.loads(stack.cli("executions", "--status", "FAILED", "--json", *extra).stdout)
        ]

    assert failed_names() == [name]

    # the cause is still there: the redrive fails again, exit 1
    still = stack.cli("redrive", "--all-failed", check=False)
    assert still.returncode == EXIT["failed"], still.stdout + still.stderr
    assert f"FAILED {name}-r2" in still.stdout
    assert failed_names() == [f"{name}-r2"]  # one row per hour: its latest

    # the cause removed: redriven, and then neither lists the hour any more
    stack.faults({})
    assert f"SUCCEEDED {name}-r3" in stack.cli("redrive", "--all-failed").stdout
    assert failed_names() == []
    assert "no hours whose latest execution is FAILED" in stack.cli("executions", "--status", "FAILED").stdout
    assert stack.cli("redrive", "--all-failed").stdout.strip() == "no failed hours"
    history = [n for n in failed_names("--every") if n.startswith(name)]  # the history, asked for
    assert sorted(history) == [name, f"{name}-r2"]
    assert facts(stack, "failed") == 4


# ----------------------------------------------------------------- 3. nothing waits unseen


def test_objects_that_arrive_after_their_hour_ran_are_counted_named_and_taken(stack: RunningStack) -> None:
    hour = parse_hour("2025-08-04T14")
    label = hour_label(hour)
    put(stack, hour, 3, "ran")
    stack.cli("run", "--hour", label)
    assert stack.cli("run", "--hour", label).returncode == EXIT["ok"]  # ran, and nothing waits

    # Given one object that arrives in the hour after it ran, one in a partition long before it
    put(stack, hour, 2, "late-recent")
    old = parse_hour("2025-08-04T06")
    put(stack, old, 2, "late-old")

    # run --hour on the hour that ran: not run again; it says what waits and what takes it
    result = stack.cli("run", "--hour", label, check=False)
    assert result.returncode == EXIT["refused"], result.stdout + result.stderr
    assert f"hour {label} already ran: {execution_name(hour)} SUCCEEDED" in result.stdout
    assert f"2 raw object(s) in partitions up to {label} are not processed" in result.stdout
    assert f"take them with: clickstream run --hour {label} --rerun" in result.stdout

    # status: both wait; the old partition is before ListNew's lookback, so no scheduled run takes it
    data = status_json(stack)
    assert waiting_by_partition(data) == {"2025-08-04T06": (1, "late"), label: (1, "next run")}
    take = data["waiting"]["take_late"]
    assert take == "clickstream run --hour 2025-08-04T06 --rerun"
    screen = stack.cli("status").stdout
    assert "LATE: no scheduled run lists this partition again" in screen
    assert f"take the late ones: {take}" in screen

    # the next scheduled hour takes the recent one (its lookback); the old one still waits, flagged
    stack.cli("run", "--hour", hour_label(hour + timedelta(hours=1)))
    assert facts(stack, "late-recent") == 2
    assert waiting_by_partition(status_json(stack)) == {"2025-08-04T06": (1, "late")}

    # and the command status printed takes it
    stack.cli(*take.split()[1:])
    assert facts(stack, "late-old") == 2
    assert waiting_by_partition(status_json(stack)) == {}
    assert "nothing waits in partitions up to" in stack.cli("run", "--hour", label).stdout


# ----------------------------------------------------------------- 4. bad files are named at the door


def test_lake_put_refuses_what_is_not_gzipped_ndjson_and_puts_nothing(
    stack: RunningStack, tmp_path: Path
) -> None:
    hour = parse_hour("2025-08-05T09")
    label = hour_label(hour)
    good = tmp_path / "good.ndjson.gz"
    good.write_bytes(gzip.compress(ndjson(hour, 3, "door-gz")))
    plain = tmp_path / "plain.ndjson"
    plain.write_bytes(ndjson(hour, 2, "door-plain"))
    png = tmp_path / "picture.ndjson.gz"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    truncated = tmp_path / "truncated.ndjson.gz"
    truncated.write_bytes(gzip.compress(ndjson(hour, 50, "door-cut"))[:-30])
    array = tmp_path / "array.ndjson"
    array.write_text(json.dumps([event(hour, 0, "door-array")]) + "\n")
    text = tmp_path / "notes.ndjson.gz"
    text.write_text("hello\n")
    expected = {
        png: "is a PNG image, not NDJSON",
        truncated: "is a truncated gzip file",
        array: "line 1 is JSON but not an object",
        text: "line 1 is not JSON",
    }
    for path, says in expected.items():
        result = stack.cli("lake", "put", str(path), "--hour", label, check=False)
        assert result.returncode == EXIT["refused"], result.stdout + result.stderr
        assert says in result.stderr
        assert "accepts newline-delimited JSON events" in result.stderr
        assert "Nothing was put" in result.stderr
    # one bad file among good ones: none is put
    assert stack.cli("lake", "put", str(good), str(png), "--hour", label, check=False).returncode == 2
    assert list(stack.lake.list(partition_prefix(hour))) == []

    put_ok = stack.cli("lake", "put", str(good), str(plain), "--hour", label)
    assert "(3 lines)" in put_ok.stdout and "(2 lines, gzipped)" in put_ok.stdout
    stored = sorted(
        gzip.decompress(stack.lake.get_bytes(o.key)) for o in stack.lake.list(partition_prefix(hour))
    )
    assert stored == sorted([ndjson(hour, 3, "door-gz"), ndjson(hour, 2, "door-plain")])  # byte for byte
    stack.cli("run", "--hour", label)
    assert facts(stack, "door-gz") + facts(stack, "door-plain") == 5


def test_run_execution_and_rejects_say_where_the_rejects_and_quarantined_copies_are(
    stack: RunningStack,
) -> None:
    # Given objects that reached the lake without the door (ingest, an S3 copy): one with two bad
    # lines, one truncated gzip
    hour = parse_hour("2025-08-05T11")
    label, name = hour_label(hour), execution_name(hour)
    mixed = f"{partition_prefix(hour)}events-mixed.ndjson.gz"
    missing_field = {k: v for k, v in event(hour, 9, "rejects").items() if k != "event_type"}
    body = ndjson(hour, 3, "rejects") + b"{not json\n" + json.dumps(missing_field).encode() + b"\n"
    stack.lake.put_bytes(mixed, gzip.compress(body))
    cut = f"{partition_prefix(hour)}events-cut.ndjson.gz"
    stack.lake.put_bytes(cut, gzip.compress(ndjson(hour, 200, "cut"))[:-40])
    local = stack.data_dir.resolve() / "lake" / stack.info.lake_bucket

    # run says where they are: keys, and the files of the local lake
    ran = stack.cli("run", "--hour", label).stdout
    assert f"s3://{stack.info.lake_bucket}/{rejects_key(mixed)}" in ran
    assert str(local / rejects_key(mixed)) in ran
    assert f"s3://{stack.info.lake_bucket}/{quarantine_key(cut)}" in ran
    assert (local / quarantine_key(cut)).is_file()
    assert "invalid_json 1" in ran and "missing_field 1" in ran

    # so does execution, in text and JSON
    shown = stack.cli("execution", name).stdout
    assert rejects_key(mixed) in shown and quarantine_key(cut) in shown
    listed = json.loads(stack.cli("execution", name, "--json").stdout)["rejects"]
    assert {(r["raw_key"], r["rejects_key"], r["quarantine_key"]) for r in listed} == {
        (mixed, rejects_key(mixed), None),
        (cut, rejects_key(cut), quarantine_key(cut)),
    }

    # rejects ls: every object, its lines by reason; rejects show: each line and its reason
    ls = stack.cli("rejects", "ls", "--hour", label)
    assert rejects_key(mixed) in ls.stdout and quarantine_key(cut) in ls.stdout
    assert "quarantined copy" in ls.stdout and "1 quarantined" in ls.stdout
    by_key = {
        r["raw_key"]: r for r in json.loads(stack.cli("rejects", "ls", "--hour", label, "--json").stdout)
    }
    assert by_key[mixed]["reasons"] == {"invalid_json": 1, "missing_field": 1}
    assert set(by_key[cut]["reasons"]) <= {"corrupt_gzip"}  # its lines before the corruption, if any
    for key in (mixed, f"s3://{stack.info.lake_bucket}/{rejects_key(mixed)}"):  # its raw key, or a URL
        show = stack.cli("rejects", "show", key).stdout
        assert re.search(r"line 4 +invalid_json", show) and re.search(r"line 5 +missing_field", show)
        assert "{not json" in show
        assert "2 rejected lines: invalid_json 1, missing_field 1" in show
    copy = stack.cli("rejects", "show", quarantine_key(cut)).stdout
    assert "a quarantined copy" in copy and "corrupt_gzip" in copy
    assert stack.cli("rejects", "show", "rejects/year=2025/nothing", check=False).returncode == 2

    # status: quarantined objects and rejects by reason, and where the rejects live
    screen = stack.cli("status").stdout
    assert quarantine_key(cut) in screen
    assert "invalid_json 1" in screen and "missing_field 1" in screen
    assert f"s3://{stack.info.lake_bucket}/rejects/" in screen
    data = status_json(stack)
    assert [q["raw_key"] for q in data["quarantined"]] == [cut]
    assert data["rejects"]["invalid_json"] == {"lines": 1, "objects": 1}
