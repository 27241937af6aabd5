"""Alarms on the pipeline, every one publishing to the alert topic.

- executions failed, timed out, throttled (AWS/States, this state machine);
- errors of each function given in ``functions`` (AWS/Lambda). The stack gives none: a
  pipeline function's error that outlasts its retries fails the execution (the first alarm),
  and a StartHour that fails starts no execution, which the freshness alarm sees (missing
  data breaches). Five alarms fewer is $0.50 a month (docs/COST.md); what is lost is an
  e-mail about errors a retry absorbed;
- data freshness: FreshnessMinutes (namespace Clickstream), emitted by
  AdvanceWatermark; missing data counts as stale (a pipeline that stopped
  emits nothing);
- reject rate: 100 * RejectedLines / LinesRead over the hour (metric math).

The custom metrics come from Powertools Metrics, which adds the dimension
``service`` to every metric; the alarms ask for exactly that dimension.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants as c

FIVE_MINUTES = Duration.minutes(5)
ONE_HOUR = Duration.hours(1)


# An alarm on one or more of its metric in a period; a period without data is fine.
AT_LEAST_ONE: dict[str, Any] = {
    "threshold": 1,
    "evaluation_periods": 1,
    "comparison_operator": cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    "treat_missing_data": cloudwatch.TreatMissingData.NOT_BREACHING,
}


def alarm(
    scope: Construct, construct_id: str, action: cloudwatch.IAlarmAction, **props: Any
) -> cloudwatch.Alarm:
    """A cloudwatch.Alarm of ``props`` (AT_LEAST_ONE where they say nothing) that publishes to ``action``."""
    created = cloudwatch.Alarm(scope, construct_id, **{**AT_LEAST_ONE, **props})
    created.add_alarm_action(action)
    return created


class PipelineAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        topic: sns.ITopic,
        functions: dict[str, lambda_.IFunction] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms: list[cloudwatch.Alarm] = []
        action = actions.SnsAction(topic)

        def at_least_one(construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
            self.alarms.append(
                alarm(self, construct_id, action, metric=metric, alarm_description=description)
            )

        at_least_one(
            "ExecutionsFailed",
            state_machine.metric_failed(period=FIVE_MINUTES, statistic="Sum"),
            "An hourly execution failed. Open it in the Step Functions console; redrive it once fixed.",
        )
        at_least_one(
            "ExecutionsTimedOut",
            state_machine.metric_timed_out(period=FIVE_MINUTES, statistic="Sum"),
            "An hourly execution timed out.",
        )
        at_least_one(
            "ExecutionsThrottled",
            state_machine.metric_throttled(period=FIVE_MINUTES, statistic="Sum"),
            "Step Functions throttled the pipeline's executions.",
        )
        for name, function in (functions or {}).items():
            at_least_one(
                f"{_camel(name)}Errors",
                function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                f"The {name} function raised errors (retried by the state machine; look at its logs).",
            )

        freshness = alarm(
            self,
            "DataFreshness",
            action,
            metric=cloudwatch.Metric(
                namespace=c.METRICS_NAMESPACE,
                metric_name=c.FRESHNESS_METRIC,
                dimensions_map=c.METRICS_DIMENSIONS,
                statistic="Maximum",
                period=ONE_HOUR,
            ),
            threshold=c.FRESHNESS_ALARM_MINUTES,
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            alarm_description=(
                f"The warehouse is more than {c.FRESHNESS_ALARM_MINUTES} minutes behind, or the watermark "
                "has not advanced for two hours."
            ),
        )
        self.alarms.append(freshness)

        def clickstream_sum(metric_name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=c.METRICS_NAMESPACE,
                metric_name=metric_name,
                dimensions_map=c.METRICS_DIMENSIONS,
                statistic="Sum",
                period=ONE_HOUR,
            )

        reject_rate = alarm(
            self,
            "RejectRate",
            action,
            metric=cloudwatch.MathExpression(
                expression="IF(lines > 0, 100 * rejected / lines, 0)",
                using_metrics={
                    "rejected": clickstream_sum(c.REJECTED_LINES_METRIC),
                    "lines": clickstream_sum(c.LINES_READ_METRIC),
                },
                label="Rejected lines (% of lines read)",
                period=ONE_HOUR,
            ),
            threshold=100 * c.REJECT_ALERT_RATIO,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            alarm_description=(
                f"More than {100 * c.REJECT_ALERT_RATIO:g}% of the lines read in an hour were rejected "
                "(see rejects/ in the lake)."
            ),
        )
        self.alarms.append(reject_rate)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
