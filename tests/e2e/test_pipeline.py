"""The pipeline through the state machine, never around it: backfill, retries, failures, redrive."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from clickstream.core.lake import execution_name, hour_iso, hours_between, parse_hour
from clickstream.tools.generate import GeneratorConfig, generate_to_dir
from tests.support.stack import LOAD_FAILS_FOR_GOOD, RunningStack


def put_generated(stack: RunningStack, out: Path, **config: Any) -> Any:
    """Generate traffic into a folder, then put every object into the stack's lake at its key."""
    faults = config.pop("faults", False)
    generator_config = GeneratorConfig.with_faults(**config) if faults else GeneratorConfig(**config)
    truth = generate_to_dir(generator_config, out)
    for path in sorted((out / "raw").rglob("*.ndjson.gz")):
        stack.lake.put_bytes(path.relative_to(out).as_posix(), path.read_bytes())
    return truth


def snapshot(stack: RunningStack) -> dict[str, Any]:
    """Everything an exactly-once promise is about, as comparable values."""
    return {
        "facts": stack.scalar("select count(*) from fact_events"),
        "facts_digest": stack.scalar(
            "select md5(string_agg(event_id::text || coalesce(session_id::text, ''), ',' order by event_id))"
            " from fact_events"
        ),
        "objects": stack.query(
            "select object_key, etag, loaded, duplicates, rejected from etl_processed_objects order by 1"
        ),
        "rejects": stack.query("select object_key, reason, count_lines from etl_rejects order by 1, 2"),
        "products": stack.scalar("select count(*) from dim_product"),
    }


def test_three_days_backfilled_every_execution_succeeds_and_reconciles(
    stack: RunningStack, tmp_path: Path
) -> None:
    # Given three days of traffic with every fault knob on
    start = datetime(2025, 10, 13, tzinfo=UTC)
    truth = put_generated(stack, tmp_path, seed=11, start=start, hours=72, events_per_day=4000, faults=True)

    # When the three days are backfilled hour by hour through the state machine,
    # and one later run picks up the late arrivals received in the days after
    last_day = start + timedelta(hours=71)
    result = stack.cli("backfill", "--from", hour_iso(start), "--to", hour_iso(last_day))
    assert "failed" not in result.stdout.lower()
    last = parse_hour(max(truth.partitions))
    stack.cli("run", "--hour", hour_iso(last))

    # Then every execution succeeded
    names = {r["name"]: r["status"] for r in stack.op.list_executions()}
    assert all(names[execution_name(h)] == "SUCCEEDED" for h in [*hours_between(start, last_day), last])

    # and the warehouse reconciles with what was generated
    lines, loaded, dups, rejected = stack.query(
        "select sum(lines_read), sum(loaded), sum(duplicates), sum(rejected) from etl_processed_objects"
    )[0]
    assert lines == loaded + dups + rejected
    assert stack.scalar("select count(*) from fact_events") == truth.unique_valid_events
    assert loaded == truth.unique_valid_events
    assert dups == truth.duplicate_lines
    assert rejected + truth.quarantined_lines_unread == truth.expected_rejected_lines
    assert stack.scalar("select count(*) from etl_processed_objects") == truth.objects_written
    assert stack.scalar("select watermark_hour from etl_watermark") == last


def test_running_an_hour_again_and_redriving_a_succeeded_hour_change_nothing(stack: RunningStack) -> None:
    hour = "2025-10-14T12"
    before = snapshot(stack)
    stack.cli("run", "--hour", hour, "--name", "hour-2025-10-14T12-again")
    refused = stack.cli("redrive", "--hour", hour, check=False)  # a succeeded hour needs --rerun
    assert refused.returncode == 2, refused.stdout + refused.stderr
    stack.cli("redrive", "--hour", hour, "--rerun")
    assert snapshot(stack) == before


def test_a_transient_error_in_each_task_is_retried_and_the_execution_succeeds(
    stack: RunningStack, tmp_path: Path
) -> None:
    start = datetime(2025, 11, 3, 9, tzinfo=UTC)
    put_generated(stack, tmp_path, seed=5, start=start, hours=1, events_per_day=20000)
    stack.faults(
        {
            "list_new": [{"error": "TransientDatabaseError"}],
            "transform": [{"error": "TransientStorageError"}],
            "load": [
                {"error": "TransientDatabaseError", "action": "check_staged_batches"},
                {"error": "TransientDatabaseError", "action": "sessionize_and_upsert"},
                {"error": "TransientDatabaseError", "action": "advance_watermark"},
            ],
            "notify": [{"error": "TransientInjectedFault"}],
        }
    )
    stack.cli("run", "--hour", hour_iso(start))
    report = json.loads(stack.cli("execution", execution_name(start), "--json").stdout)
    assert report["status"] == "SUCCEEDED"
    retried = {s["name"]: s["failures"] for s in report["states"] if s["failures"]}
    assert retried["ListNew"] == ["TransientDatabaseError"]
    assert retried["TransformPartition"] == ["TransientStorageError"]
    assert retried["CheckStagedBatches"] == ["TransientDatabaseError"]
    assert retried["SessionizeAndUpsert"] == ["TransientDatabaseError"]
    assert retried["AdvanceWatermark"] == ["TransientDatabaseError"]
    assert retried["NotifySuccess"] == ["TransientInjectedFault"]
    assert report["counts"]["loaded"] > 0


def test_a_permanent_error_fails_alerts_and_the_redrive_succeeds_without_duplicates(
    stack: RunningStack, tmp_path: Path
) -> None:
    # Given an SQS queue subscribed to the alert topic
    endpoint = stack.info.aws_endpoint_url
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=stack.info.region)
    sns = boto3.client("sns", endpoint_url=endpoint, region_name=stack.info.region)
    queue = sqs.create_queue(QueueName="alerts-test")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=stack.info.alert_topic_arn, Protocol="sqs", Endpoint=queue_arn)
    start = datetime(2025, 11, 5, 15, tzinfo=UTC)
    put_generated(stack, tmp_path, seed=6, start=start, hours=1, events_per_day=20000)

    # When SessionizeAndUpsert fails with a permanent error
    stack.faults(LOAD_FAILS_FOR_GOOD)
    failed = stack.cli("run", "--hour", hour_iso(start), check=False)
    assert failed.returncode == 1
    description = stack.op.report(execution_name(start))
    assert description.status == "FAILED"
    assert description.error == "ConfigurationError"
    assert "role lacks INSERT" in (description.cause or "")
    retries = {s.name: s.attempts for s in description.states}
    assert retries["SessionizeAndUpsert"] == 1  # a permanent error is not retried

    body = ""
    for _ in range(50):
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            body = json.loads(messages[0]["Body"])["Message"]
            break
    assert "ConfigurationError" in body
    assert "failed state SessionizeAndUpsert" in body
    assert f"clickstream redrive --hour {hour_iso(start)[:13]}" in body
    assert (
        stack.scalar(
            "select count(*) from fact_events where received_at >= %s and received_at < %s",
            (start, start + timedelta(hours=2)),
        )
        == 0
    )

    # Then, once the cause is removed, the redrive succeeds and loads each event once
    stack.faults({})
    stack.cli("redrive", "--hour", hour_iso(start)[:13])
    loaded = stack.scalar(
        "select count(*) from fact_events where received_at >= %s and received_at < %s",
        (start, start + timedelta(hours=2)),
    )
    assert loaded > 0
    stack.cli("redrive", "--hour", hour_iso(start)[:13], "--rerun")
    assert (
        stack.scalar(
            "select count(*) from fact_events where received_at >= %s and received_at < %s",
            (start, start + timedelta(hours=2)),
        )
        == loaded
    )
    assert stack.op.failed_hours() == []


def test_a_killed_worker_is_retried_and_the_pool_recovers(stack: RunningStack, tmp_path: Path) -> None:
    start = datetime(2025, 11, 7, 10, tzinfo=UTC)
    put_generated(stack, tmp_path, seed=8, start=start, hours=2, events_per_day=20000)
    stack.faults({"transform": [{"kill": True}]})
    stack.cli("run", "--hour", hour_iso(start))
    report = stack.op.report(execution_name(start))
    assert "WorkerLostError" in [f for s in report.states for f in s.failures]
    # the next execution runs on a rebuilt pool
    stack.cli("run", "--hour", hour_iso(start + timedelta(hours=1)))


def test_the_aws_cli_lists_executions_and_shows_history(stack: RunningStack) -> None:
    stack.cli("run", "--hour", "2024-01-01T00")  # an hour with no data still runs every state
    aws = Path(subprocess.run(["which", "aws"], capture_output=True, text=True).stdout.strip() or "aws")
    venv_aws = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "aws"
    command = str(venv_aws if venv_aws.exists() else aws)
    env_args = [
        "--endpoint-url",
        stack.info.aws_endpoint_url,
        "--region",
        stack.info.region,
        "--output",
        "json",
    ]
    listed = subprocess.run(
        [
            command,
            "stepfunctions",
            "list-executions",
            "--state-machine-arn",
            stack.info.state_machine_arn,
            *env_args,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    names = {e["name"] for e in json.loads(listed.stdout)["executions"]}
    assert "hour-2024-01-01T00" in names
    arn = stack.op.execution_arn("hour-2024-01-01T00")
    history = subprocess.run(
        [command, "stepfunctions", "get-execution-history", "--execution-arn", arn, *env_args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in json.loads(history.stdout)["events"]
        if "stateEnteredEventDetails" in e
    ]
    assert entered[:4] == ["Start", "Begin", "ListNew", "TransformPartitions"]
    assert "AdvanceWatermark" in entered
