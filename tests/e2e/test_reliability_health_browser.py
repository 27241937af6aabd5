"""The Reliability page's Lambda error rates and ingest DLQ depth in Chromium, on the local stack.

One hour runs through the state machine while its SessionizeAndUpsert fails once with a retried
error; the local runtime publishes each invocation to moto's CloudWatch as Lambda does. Counted
by hand from the state machine: ListNew 1 invocation, TransformPartition one per work item,
the load function 4 (CheckStagedBatches, SessionizeAndUpsert twice, AdvanceWatermark) with 1
error, Notify 1 (NotifySuccess). Then a batch is dead-lettered and the page shows it waiting.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
from playwright.sync_api import expect

from clickstream.core.lake import execution_name, hour_iso
from clickstream.pipeline.ingest import DeadLetterQueue
from clickstream.tools.generate import GeneratorConfig, generate_to_dir
from tests.support.browser import chromium
from tests.support.stack import RunningStack

HOUR = datetime(2025, 12, 1, 9, tzinfo=UTC)
WAIT_MS = 60_000


def test_lambda_errors_and_the_dlq_depth_show_on_the_reliability_page(
    stack: RunningStack, tmp_path: Path
) -> None:
    # Given an hour of traffic, run while its upsert fails once (retried)
    generate_to_dir(GeneratorConfig(seed=4, start=HOUR, hours=1, events_per_day=2400), tmp_path)
    for path in sorted((tmp_path / "raw").rglob("*.ndjson.gz")):
        stack.lake.put_bytes(path.relative_to(tmp_path).as_posix(), path.read_bytes())
    stack.faults(
        {"load": [{"error": "TransientInjectedFault", "action": "sessionize_and_upsert", "times": 1}]}
    )
    stack.cli("run", "--hour", hour_iso(HOUR))
    (stack.data_dir / "faults.json").unlink()
    report = stack.op.report(execution_name(HOUR))
    assert report.status == "SUCCEEDED"
    items = len(report.output["list"]["items"])
    assert items >= 1
    # and a batch waits in the ingest dead-letter queue
    sqs = boto3.client("sqs", endpoint_url=stack.info.aws_endpoint_url, region_name=stack.info.region)
    queue = DeadLetterQueue(sqs.get_queue_url(QueueName="clickstream-ingest-dlq")["QueueUrl"], sqs)
    queue.send([json.dumps({"event_id": "x"}).encode()], HOUR, "drill")

    # When the Reliability page is opened in Chromium
    assert stack.info.dashboard_url
    with chromium() as browser:
        tab = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        tab.set_default_timeout(WAIT_MS)
        tab.goto(stack.info.dashboard_url)
        tab.get_by_role("tab", name="Reliability", exact=True).click()

        # Then each function's invocations, errors and error rate are the hand-counted ones: the
        # load runs CheckStagedBatches, SessionizeAndUpsert (twice: the fault, then its retry),
        # AdvanceWatermark and CheckBusinessDays
        expected = {
            "list_new": (1, 0, "0.0%"),
            "transform": (items, 0, "0.0%"),
            "load": (5, 1, "20.0%"),
            "notify": (1, 0, "0.0%"),
        }
        for function, (invocations, errors, rate) in expected.items():
            row = tab.locator(f'#reliability-health tr[data-function="{function}"]')
            expect(row).to_have_attribute("data-invocations", str(invocations), timeout=WAIT_MS)
            expect(row).to_have_attribute("data-errors", str(errors))
            expect(row.locator("td").nth(3)).to_have_text(rate)
        # and the dead-letter queue's depth, with the command that empties it
        depth = tab.locator("#reliability-health .dlq-depth")
        expect(depth).to_have_attribute("data-waiting", "1")
        expect(depth).to_contain_text("clickstream dlq replay")
