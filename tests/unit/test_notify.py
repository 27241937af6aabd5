"""The SNS messages: what failed, where, and the exact command that redrives the hour."""

import json

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
