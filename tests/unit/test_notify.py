"""The SNS messages: what failed, where, and the exact command that redrives the hour."""

import json

import pytest

from clickstream.pipeline import notify
from clickstream.pipeline.notify import failed_state, format_failure, format_success


def history(*names: str) -> list[dict]:
    return [
        {"id": i, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": n}}
        for i, n in enumerate(names, 1)
    ]


def test_failure_names_state_error_cause_and_redrive_command() -> None:
    cause = json.dumps({"errorType": "ContractViolation", "errorMessage": "staged batch 3 is corrupt"})
    notice = format_failure(
        "2025-10-18T13:00:00Z",
        "hour-2025-10-18T13",
        "arn:aws:states:eu-west-1:111:execution:p:hour-2025-10-18T13",
        {"Error": "ContractViolation", "Cause": cause},
        "SessionizeAndUpsert",
        runtime="aws",
    )
    assert notice["publish"] is True
    assert "FAILED: ContractViolation" in notice["subject"]
    message = notice["message"]
    assert "failed state SessionizeAndUpsert" in message
    assert "staged batch 3 is corrupt" in message
    assert "clickstream redrive --hour 2025-10-18T13" in message
    assert "aws stepfunctions redrive-execution --execution-arn arn:aws:states:eu-west-1" in message


def test_local_failure_offers_only_our_redrive() -> None:
    notice = format_failure("2025-10-18T13:00:00Z", "hour-2025-10-18T13", "arn:x", {}, None)
    assert "aws stepfunctions" not in notice["message"]
    assert "failed state unknown" in notice["message"]


def test_subject_fits_sns_limit() -> None:
    notice = format_failure("2025-10-18T13:00:00Z", "e", None, {"Error": "E" * 300}, None)
    assert len(notice["subject"]) <= 100


def test_success_is_published_only_above_the_reject_threshold() -> None:
    quiet = format_success("2025-10-18T13:00:00Z", "e", {"lines_read": 1000, "rejected": 10}, 0.01)
    loud = format_success("2025-10-18T13:00:00Z", "e", {"lines_read": 1000, "rejected": 11}, 0.01)
    empty = format_success("2025-10-18T13:00:00Z", "e", {"lines_read": 0, "rejected": 0}, 0.01)
    assert (quiet["publish"], loud["publish"], empty["publish"]) == (False, True, False)
    assert "1.1%" in loud["subject"]
    assert "11 of 1,000 lines" in loud["message"]


def test_failed_state_is_the_last_entered_before_notify_failure() -> None:
    assert (
        failed_state(history("ListNew", "TransformPartitions", "CheckStagedBatches", "NotifyFailure"))
        == "CheckStagedBatches"
    )
    assert failed_state(history("ListNew", "TransformPartitions", "TransformPartition", "NotifyFailure")) == (
        "TransformPartition"
    )
    assert failed_state([]) is None


# -- AwaitRedrive: the failure branch's last Task, the one a console Redrive reruns


def test_await_redrive_fails_with_the_original_error_until_the_execution_is_redriven() -> None:
    cause = json.dumps({"errorType": "ConfigurationError", "errorMessage": "role lacks INSERT"})
    error = {"Error": "ConfigurationError", "Cause": cause}
    with pytest.raises(notify.AwaitingRedrive) as raised:
        notify.await_redrive("SessionizeAndUpsert", recorded=0, now=0, error=error)
    # Lambda reports the exception's class name as errorType: Step Functions' error is the original
    assert type(raised.value).__name__ == "ConfigurationError"
    assert str(raised.value) == "role lacks INSERT"
    # a Redrive raised DescribeExecution's redriveCount: resume at the failed state
    assert (
        notify.await_redrive("SessionizeAndUpsert", recorded=0, now=1, error=error) == "SessionizeAndUpsert"
    )
    # failed again after that redrive (the count was 1 when caught): wait for the next one
    with pytest.raises(notify.AwaitingRedrive):
        notify.await_redrive("SessionizeAndUpsert", recorded=1, now=1, error=error)


def test_await_redrive_keeps_a_states_error_name() -> None:
    with pytest.raises(notify.AwaitingRedrive) as raised:
        notify.await_redrive("ListNew", 0, 0, {"Error": "States.Timeout", "Cause": "timed out"})
    assert type(raised.value).__name__ == "States.Timeout"


def test_the_failed_state_skips_the_catchs_pass_state() -> None:
    events = [
        {"stateEnteredEventDetails": {"name": n}}
        for n in ("Start", "Begin", "ListNew", "CaughtListNew", "NotifyFailure")
    ]
    assert notify.failed_state(events) == "ListNew"


def test_a_reprocess_failure_says_to_run_the_command_again() -> None:
    from clickstream.pipeline.notify import format_failure

    arn = "arn:aws:states:us-east-1:1:execution:m:reprocess-20261202T160000-p1"
    notice = format_failure(
        "2025-10-18T13:00:00Z",
        "reprocess-20261202T160000-p1",
        arn,
        {"Error": "ConfigurationError", "Cause": "x"},
        "SessionizeAndUpsert",
        runtime="aws",
    )
    assert notice["subject"] == "Clickstream reprocess-20261202T160000-p1 FAILED: ConfigurationError"
    assert "run the same" in notice["message"] and "clickstream redrive --hour" not in notice["message"]
    assert f"redrive-execution --execution-arn {arn}" in notice["message"]
