"""Alarms on executions, function errors, data freshness and the reject rate, all to the alert topic."""

from __future__ import annotations

from typing import Any

import pytest

from infra import constants as c
from tests.support.template import Template

SERVICE_DIMENSION = [{"Name": "service", "Value": c.SERVICE_NAME}]


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        path.removeprefix("Alarms/"): template.resolve(resource["Properties"])
        for path, resource in template.of_type("AWS::CloudWatch::Alarm").items()
        if path.startswith("Alarms/")  # the pipeline's; ingest's are in test_ingest.py
    }


def test_every_alarm_notifies_the_alert_topic(template: Template) -> None:
    found = alarms(template)
    assert set(found) == {
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsThrottled",
        "DataFreshness",
        "RejectRate",
    }
    for name, alarm in found.items():
        assert alarm["AlarmActions"] == ["<Pipeline/Alerts>"], name
        assert alarm["AlarmDescription"], name


@pytest.mark.parametrize(
    ("name", "metric"),
    [
        ("ExecutionsFailed", "ExecutionsFailed"),
        ("ExecutionsTimedOut", "ExecutionsTimedOut"),
        ("ExecutionsThrottled", "ExecutionThrottled"),
    ],
)
def test_execution_alarms_watch_this_state_machine(template: Template, name: str, metric: str) -> None:
    alarm = alarms(template)[name]
    assert alarm["Namespace"] == "AWS/States"
    assert alarm["MetricName"] == metric
    assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": "<Pipeline/StateMachine>"}]
    assert alarm["Statistic"] == "Sum"
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_no_alarm_per_pipeline_function(template: Template) -> None:
    # A function's error that outlasts its retries fails the execution (ExecutionsFailed); a failed
    # StartHour starts none, which DataFreshness sees. Five alarms fewer: $0.50 a month (COST.md).
    assert not [name for name in alarms(template) if name.endswith("Errors")]


def test_freshness_alarm_treats_silence_as_stale(template: Template) -> None:
    alarm = alarms(template)["DataFreshness"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Clickstream", "FreshnessMinutes")
    assert alarm["Dimensions"] == SERVICE_DIMENSION
    assert alarm["Statistic"] == "Maximum"
    assert alarm["Period"] == 3600
    assert alarm["Threshold"] == c.FRESHNESS_ALARM_MINUTES
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "breaching"


def test_reject_rate_alarm_is_metric_math_over_rejected_and_read_lines(template: Template) -> None:
    alarm = alarms(template)["RejectRate"]
    metrics = {m["Id"]: m for m in alarm["Metrics"]}
    assert metrics["expr_1"]["Expression"] == "IF(lines > 0, 100 * rejected / lines, 0)"
    for metric_id, name in (("rejected", "RejectedLines"), ("lines", "LinesRead")):
        stat = metrics[metric_id]["MetricStat"]
        assert stat["Metric"] == {
            "Namespace": "Clickstream",
            "MetricName": name,
            "Dimensions": SERVICE_DIMENSION,
        }
        assert (stat["Stat"], stat["Period"]) == ("Sum", 3600)
        assert metrics[metric_id]["ReturnData"] is False
    assert alarm["Threshold"] == 100 * c.REJECT_ALERT_RATIO
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
