"""Every role's permissions are exactly the least-privilege set below: nothing more, nothing missing.

Each grant is (action, resource, condition). '*' appears only for actions IAM
offers no resource-level permission for (X-Ray, Lambda's VPC network
interfaces, Step Functions' log delivery, Session Manager channels, EC2
Describe calls); the cdk-nag acknowledgments in infra/ say so one by one.
"""

from __future__ import annotations

import json

import pytest

from tests.support.iam import INGEST_ROLES, LAKE, assert_exactly_granted, principals
from tests.support.template import Template

XRAY = {("xray:PutTraceSegments", "*", ""), ("xray:PutTelemetryRecords", "*", "")}
VPC_ENIS = {
    (action, "*", "")
    for action in (
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    )
}


def arn(service: str, rest: str, account: bool = True) -> str:
    account_part = "${AWS::AccountId}" if account else ""
    return f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:{account_part}:{rest}"


def logs(function: str) -> set[tuple[str, str, str]]:
    group = f"<Pipeline/{function}Logs.Arn>"
    return {("logs:CreateLogStream", group, ""), ("logs:PutLogEvents", group, "")}


RAW_PREFIX_ONLY = json.dumps({"StringLike": {"s3:prefix": ["raw/*"]}}, sort_keys=True)

EXPECTED: dict[str, set[tuple[str, str, str]]] = {
    # list_new: lists raw/, writes the work files and the worklist, reads the warehouse (network).
    "Pipeline/ListNewRole": {
        ("s3:ListBucket", LAKE, RAW_PREFIX_ONLY),
        ("s3:PutObject", f"{LAKE}/staged/*/work/*", ""),
        ("s3:PutObject", f"{LAKE}/staged/*/worklist.json", ""),
    }
    | logs("ListNew")
    | XRAY
    | VPC_ENIS,
    # transform: reads raw/ (and its work file), writes its staged batch and rejects/. Nothing else.
    "Pipeline/TransformRole": {
        ("s3:GetObject", f"{LAKE}/raw/*", ""),
        ("s3:GetObject", f"{LAKE}/staged/*/work/*", ""),
        ("s3:PutObject", f"{LAKE}/staged/*/batches/*", ""),
        ("s3:PutObject", f"{LAKE}/rejects/*", ""),
    }
    | logs("Transform")
    | XRAY,
    # load (CheckStagedBatches, SessionizeAndUpsert, AdvanceWatermark): reads the worklist and batches,
    # writes the warehouse.
    "Pipeline/LoadRole": {
        ("s3:GetObject", f"{LAKE}/staged/*/worklist.json", ""),
        ("s3:GetObject", f"{LAKE}/staged/*/batches/*", ""),
    }
    | logs("Load")
    | XRAY
    | VPC_ENIS,
    # notify: formats the notice (the state machine publishes it); reads the failed execution's history.
    # Notify: the failed state from the history, AwaitRedrive's redriveCount, StartContinuation.
    # The health snapshot: the functions' AWS/Lambda metrics (GetMetricData: '*' only), the ingest
    # DLQ's depth (that queue only), written to the one key ops/health.json of the lake.
    "Pipeline/NotifyRole": {
        ("states:GetExecutionHistory", arn("states", "execution:${AWS::StackName}-pipeline:*"), ""),
        ("states:DescribeExecution", arn("states", "execution:${AWS::StackName}-pipeline:*"), ""),
        ("states:StartExecution", arn("states", "stateMachine:${AWS::StackName}-pipeline"), ""),
        ("cloudwatch:GetMetricData", "*", ""),
        ("sqs:GetQueueAttributes", "<Ingest/DeadLetters.Arn>", ""),
        ("s3:PutObject", f"{LAKE}/ops/health.json", ""),
    }
    | logs("Notify")
    | XRAY,
    # StartHour: starts this state machine's executions.
    "Pipeline/StartHourRole": {("states:StartExecution", "<Pipeline/StateMachine>", "")}
    | logs("StartHour")
    | XRAY,
    # The schedule: invokes StartHour (the function, not its versions).
    "Pipeline/ScheduleRole": {("lambda:InvokeFunction", "<Pipeline/StartHour.Arn>", "")},
    # The state machine: its four functions, the alert topic (and its key), logging, tracing.
    "Pipeline/StateMachineRole": {
        ("lambda:InvokeFunction", f"<Pipeline/{name}.Arn>", "")
        for name in ("ListNew", "Transform", "Load", "Notify")
    }
    | {
        ("sns:Publish", "<Pipeline/Alerts>", ""),
        ("kms:GenerateDataKey", "<Pipeline/AlertsKey.Arn>", ""),
        ("kms:Decrypt", "<Pipeline/AlertsKey.Arn>", ""),
    }
    | {
        (action, "*", "")
        for action in (
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        )
    }
    | XRAY
    | {("xray:GetSamplingRules", "*", ""), ("xray:GetSamplingTargets", "*", "")},
    # The warehouse host: Session Manager, its password, its bootstrap assets, and the health snapshot
    # that notify writes (the Reliability page's Lambda error rates and DLQ depth).
    "Warehouse/HostRole": {
        ("s3:GetObject", f"{LAKE}/ops/health.json", ""),
        ("ssm:UpdateInstanceInformation", arn("ec2", "instance/*"), ""),
        ("ssmmessages:CreateControlChannel", "*", ""),
        ("ssmmessages:CreateDataChannel", "*", ""),
        ("ssmmessages:OpenControlChannel", "*", ""),
        ("ssmmessages:OpenDataChannel", "*", ""),
        (
            "ssm:GetParameter",
            arn("ssm", "parameter/aws/reference/secretsmanager/${AWS::StackName}/warehouse/pipeline"),
            "",
        ),
        ("secretsmanager:GetSecretValue", "<Warehouse/PipelinePassword>", ""),
        (
            "s3:GetObject",
            "arn:${AWS::Partition}:s3:::cdk-hnb659fds-assets-${AWS::AccountId}-us-east-1/<asset>",
            "",
        ),
    },
    # Data Lifecycle Manager: snapshots of the host, and only snapshot management.
    "Warehouse/SnapshotRole": {
        ("ec2:CreateSnapshots", arn("ec2", "instance/<Warehouse/Host>"), ""),
        ("ec2:CreateSnapshots", arn("ec2", "volume/*"), ""),
        ("ec2:CreateSnapshots", arn("ec2", "snapshot/*", account=False), ""),
        ("ec2:CreateSnapshot", arn("ec2", "volume/*"), ""),
        ("ec2:CreateSnapshot", arn("ec2", "snapshot/*", account=False), ""),
        ("ec2:CreateTags", arn("ec2", "snapshot/*", account=False), ""),
        ("ec2:DeleteSnapshot", arn("ec2", "snapshot/*", account=False), ""),
        ("ec2:DescribeInstances", "*", ""),
        ("ec2:DescribeVolumes", "*", ""),
        ("ec2:DescribeSnapshots", "*", ""),
    },
}

TRUSTED_SERVICE = {
    "Pipeline/ListNewRole": "lambda.amazonaws.com",
    "Pipeline/TransformRole": "lambda.amazonaws.com",
    "Pipeline/LoadRole": "lambda.amazonaws.com",
    "Pipeline/NotifyRole": "lambda.amazonaws.com",
    "Pipeline/StartHourRole": "lambda.amazonaws.com",
    "Pipeline/ScheduleRole": "scheduler.amazonaws.com",
    "Pipeline/StateMachineRole": "states.amazonaws.com",
    "Warehouse/HostRole": "ec2.amazonaws.com",
    "Warehouse/SnapshotRole": "dlm.amazonaws.com",
}


def test_the_stack_has_exactly_these_roles(template: Template) -> None:
    # the ingest capability's roles are compared statement by statement in test_ingest.py
    assert template.roles() == set(EXPECTED) | set(INGEST_ROLES)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_role_permissions_are_exactly_the_least_privilege_set(template: Template, role: str) -> None:
    assert_exactly_granted(template, role, EXPECTED[role])


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_is_assumed_by_its_service_only(template: Template, role: str) -> None:
    assert principals(template, role) == [{"Service": TRUSTED_SERVICE[role]}]


def test_the_host_reads_exactly_its_four_bootstrap_assets(template: Template) -> None:
    # Given the host role's policies, without hiding the asset keys (the health snapshot's
    # statement, on the lake, is compared in EXPECTED above)
    role_id = template.logical_id("Warehouse/HostRole")
    objects = [
        template.text(resource)
        for policy in template.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "s3:GetObject" and statement.get("Sid") != "HealthSnapshot"
        for resource in statement["Resource"]
    ]
    # Then: the warehouse script, the migrations, the dashboards script and the dashboards bundle
    assert len(set(objects)) == 4
    assert not any(o.endswith("/*") for o in objects)


def test_the_alert_topic_and_its_key_admit_cloudwatch_alarms_of_this_account_only(template: Template) -> None:
    policy = template.resolve(next(iter(template.of_type("AWS::SNS::TopicPolicy").values()))["Properties"])
    statements = policy["PolicyDocument"]["Statement"]
    alarms = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert len(alarms) == 1
    assert alarms[0]["Action"] == "sns:Publish"
    assert alarms[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": "${AWS::AccountId}"}
    assert alarms[0]["Condition"]["ArnLike"] == {
        "aws:SourceArn": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"
    }
    key_policy = template.one("AWS::KMS::Key", "Pipeline/AlertsKey")["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in key_policy if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
