"""Pipeline: functions, the state machine from the ASL file, the hourly schedule, the alert topic."""

from __future__ import annotations

import json
import re

import pytest

from clickstream.core.settings import MIN_HMAC_KEY_LENGTH, Settings
from clickstream.ops.definition import NUMBER_PLACEHOLDERS, placeholders, render
from infra import constants as c
from tests.support.cdk import synthesize
from tests.support.template import Template

FUNCTIONS = {
    "ListNew": c.LIST_NEW,
    "Transform": c.TRANSFORM,
    "Load": c.LOAD,
    "Notify": c.NOTIFY,
}


def function(template: Template, name: str) -> dict:
    return dict(template.resolve(template.one("AWS::Lambda::Function", f"Pipeline/{name}")["Properties"]))


# -- the state machine ------------------------------------------------------------------
def test_definition_is_the_asl_file_with_its_placeholders_filled(template: Template) -> None:
    # Given the state machine in the template
    props = template.one("AWS::StepFunctions::StateMachine", "Pipeline/StateMachine")["Properties"]
    # Then its definition is the ASL file with the numbers filled and the ARNs left to CloudFormation
    assert props["DefinitionString"] == render(c.NUMBERS)
    assert set(props["DefinitionSubstitutions"]) == placeholders() - set(NUMBER_PLACEHOLDERS)
    # When CloudFormation substitutes the ARNs
    deployed = props["DefinitionString"]
    for name, value in props["DefinitionSubstitutions"].items():
        deployed = deployed.replace("${" + name + "}", template.text(value))
    # Then it is exactly render() with the four functions and the topic of this stack
    expected = render(
        c.NUMBERS,
        arns={
            "ListNewFunctionArn": "<Pipeline/ListNew.Arn>",
            "TransformFunctionArn": "<Pipeline/Transform.Arn>",
            "LoadFunctionArn": "<Pipeline/Load.Arn>",
            "NotifyFunctionArn": "<Pipeline/Notify.Arn>",
            "AlertTopicArn": "<Pipeline/Alerts>",
        },
    )
    assert json.loads(deployed) == json.loads(expected)
    assert json.loads(deployed)["States"]["TransformPartitions"]["MaxConcurrency"] == c.MAP_MAX_CONCURRENCY


def test_state_machine_is_standard_logged_at_all_with_data_and_traced(template: Template) -> None:
    props = template.resolve(
        template.one("AWS::StepFunctions::StateMachine", "Pipeline/StateMachine")["Properties"]
    )
    assert props["StateMachineType"] == "STANDARD"
    assert props["StateMachineName"] == "${AWS::StackName}-pipeline"
    assert props["LoggingConfiguration"] == {
        "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": "<Pipeline/StateMachineLogs.Arn>"}}],
        "IncludeExecutionData": True,
        "Level": "ALL",
    }
    assert props["TracingConfiguration"] == {"Enabled": True}
    group = template.resolve(template.one("AWS::Logs::LogGroup", "Pipeline/StateMachineLogs")["Properties"])
    assert group["LogGroupName"] == "/aws/vendedlogs/states/${AWS::StackName}-pipeline"
    assert group["RetentionInDays"] == c.LOG_RETENTION_DAYS


# -- the functions ------------------------------------------------------------------------
@pytest.mark.parametrize("name", [*FUNCTIONS, "StartHour"])
def test_functions_are_python_312_arm64_traced_with_powertools(template: Template, name: str) -> None:
    props = function(template, name)
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "handler.handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Layers"] == ["<Pipeline/Shared>"]
    assert props["LoggingConfig"] == {"LogGroup": f"<Pipeline/{name}Logs>"}
    env = props["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == c.SERVICE_NAME
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == c.METRICS_NAMESPACE
    assert env["RUNTIME"] == "aws"
    retention = template.one("AWS::Logs::LogGroup", f"Pipeline/{name}Logs")["Properties"]["RetentionInDays"]
    assert retention == c.LOG_RETENTION_DAYS


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_pipeline_functions_get_the_settings_they_read(template: Template, name: str) -> None:
    spec = FUNCTIONS[name]
    props = function(template, name)
    env = props["Environment"]["Variables"]
    assert props["MemorySize"] == spec.memory_mb and props["Timeout"] == spec.timeout_s
    assert env["LAKE_BUCKET"] == "<Storage/Lake>"
    assert env["LOOKBACK_HOURS"] == str(c.LOOKBACK_HOURS)
    assert env["REJECT_ALERT_RATIO"] == str(c.REJECT_ALERT_RATIO)
    # Secrets only where they are used, and only as deploy-time dynamic references
    assert ("DATABASE_URL" in env) == spec.in_vpc
    assert ("USER_ID_HMAC_KEY" in env) == (spec is c.TRANSFORM)
    if spec.in_vpc:
        assert env["DATABASE_URL"] == (
            "postgresql://pipeline:{{resolve:secretsmanager:<Warehouse/PipelinePassword>:SecretString:password::}}"
            "@<Warehouse/Host.PrivateIp>:5432/clickstream?sslmode=require&connect_timeout=10"
        )
    if spec is c.TRANSFORM:
        key = "{{resolve:secretsmanager:<Pipeline/UserIdHmacKey>:SecretString:::}}"
        assert env["USER_ID_HMAC_KEY"] == key


@pytest.mark.parametrize("name", [*FUNCTIONS, "StartHour"])
def test_only_list_new_and_load_run_in_the_vpc_isolated_subnets(template: Template, name: str) -> None:
    props = function(template, name)
    if name in ("ListNew", "Load"):
        assert props["VpcConfig"] == {
            "SecurityGroupIds": ["<Pipeline/DatabaseClientsSg.GroupId>"],
            "SubnetIds": ["<Warehouse/Vpc/IsolatedSubnet1/Subnet>", "<Warehouse/Vpc/IsolatedSubnet2/Subnet>"],
        }
    else:
        assert "VpcConfig" not in props


def test_constants_match_the_shared_observability_module() -> None:
    from clickstream.core import observability

    assert observability.SERVICE == c.SERVICE_NAME
    assert observability.metrics.namespace == c.METRICS_NAMESPACE


# -- the schedule ---------------------------------------------------------------------------
def test_schedule_fires_hourly_and_sends_the_fire_time_to_start_hour(template: Template) -> None:
    props = template.resolve(template.one("AWS::Scheduler::Schedule", "Pipeline/Hourly")["Properties"])
    assert props["ScheduleExpression"] == "cron(0 * * * ? *)"
    assert props["ScheduleExpressionTimezone"] == "Etc/UTC"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert props["State"] == "ENABLED"
    target = props["Target"]
    assert target["Arn"] == "<Pipeline/StartHour.Arn>"
    assert target["RoleArn"] == "<Pipeline/ScheduleRole.Arn>"
    assert json.loads(target["Input"]) == {"scheduled_time": "<aws.scheduler.scheduled-time>"}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}


# -- alerts -----------------------------------------------------------------------------------
def test_alert_topic_is_encrypted_tls_only_with_an_email_subscription_from_a_parameter(
    template: Template,
) -> None:
    topic = template.resolve(template.one("AWS::SNS::Topic", "Pipeline/Alerts")["Properties"])
    assert topic["KmsMasterKeyId"] == "<Pipeline/AlertsKey.Arn>"
    key = template.one("AWS::KMS::Key", "Pipeline/AlertsKey")["Properties"]
    assert key["EnableKeyRotation"] is True
    policy = template.resolve(next(iter(template.of_type("AWS::SNS::TopicPolicy").values()))["Properties"])
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["PolicyDocument"]["Statement"]
    )
    (subscription,) = template.of_type("AWS::SNS::Subscription").values()
    assert template.resolve(subscription["Properties"]) == {
        "Endpoint": "<AlertEmail>",
        "Protocol": "email",
        "TopicArn": "<Pipeline/Alerts>",
    }
    assert template.body["Parameters"]["AlertEmail"]["Type"] == "String"
    assert "Default" not in template.body["Parameters"]["AlertEmail"]


def test_user_id_hmac_key_is_generated_and_kept(template: Template) -> None:
    secret = template.resources[template.logical_id("Pipeline/UserIdHmacKey")]
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] == 48
    assert secret["DeletionPolicy"] == "Retain"


def test_the_load_function_gets_the_business_alert_settings(template: Template, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # By default: on, at the settings' threshold
    env = function(template, "Load")["Environment"]["Variables"]
    assert (env["BUSINESS_ALERTS"], env["BUSINESS_ALERT_THRESHOLD"]) == ("true", "0.3")
    assert Settings().business_alert_threshold == c.BUSINESS_ALERT_THRESHOLD
    # An operator's threshold and switch reach it; a bad threshold is refused at synth
    synth = synthesize(
        tmp_path, **{c.BUSINESS_ALERT_THRESHOLD_CONTEXT: "0.25", c.BUSINESS_ALERTS_CONTEXT: "off"}
    )
    env = function(synth.template, "Load")["Environment"]["Variables"]
    assert (env["BUSINESS_ALERTS"], env["BUSINESS_ALERT_THRESHOLD"]) == ("false", "0.25")
    with pytest.raises(ValueError, match="takes a share of the baseline above 0"):
        synthesize(tmp_path / "bad", **{c.BUSINESS_ALERT_THRESHOLD_CONTEXT: "30%"})


def test_a_rotated_password_version_reaches_the_functions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # When the stack is deployed with the version id of a rotated password
    synth = synthesize(tmp_path, **{c.PIPELINE_PASSWORD_VERSION_CONTEXT: "0b1d-rotated"})
    # Then both database functions resolve exactly that version
    for name in ("ListNew", "Load"):
        env = function(synth.template, name)["Environment"]["Variables"]
        assert ":SecretString:password::0b1d-rotated}}" in env["DATABASE_URL"]


# -- what each function requires on AWS, the stack provides ------------------------------------
FUNCTION_RESOURCES = {
    "list_new": "Pipeline/ListNew",
    "transform": "Pipeline/Transform",
    "load": "Pipeline/Load",
    "notify": "Pipeline/Notify",
    "start_hour": "Pipeline/StartHour",
    "ingest": "Ingest/Function",
}
REQUIRE = re.compile(r"\.require\(([^)]*)\)")


def required_settings(function_dir: str) -> set[str]:
    """The settings a handler declares with Settings.require(...) (checked at its first invocation)."""
    source = (c.FUNCTIONS_DIR / function_dir / "handler.py").read_text(encoding="utf-8")
    return {
        name.strip().strip("\"'")
        for call in REQUIRE.findall(source)
        for name in call.split(",")
        if name.strip()
    }


def test_every_handler_is_in_the_stack() -> None:
    assert {p.parent.name for p in c.FUNCTIONS_DIR.glob("*/handler.py")} == set(FUNCTION_RESOURCES)


@pytest.mark.parametrize("function_dir", list(FUNCTION_RESOURCES))
def test_the_stack_gives_each_function_the_settings_it_refuses_to_start_without(
    template: Template, function_dir: str
) -> None:
    # Given what the handler requires on AWS (clickstream.core.settings.Settings.require)
    required = required_settings(function_dir)
    env = template.resolve(
        template.one("AWS::Lambda::Function", FUNCTION_RESOURCES[function_dir])["Properties"]
    )["Environment"]["Variables"]
    # Then the function runs as "aws" (so the check is on) and has each one, from a secret
    assert env["RUNTIME"] == "aws"
    assert ("user_id_hmac_key" in required) == (function_dir in ("transform", "ingest"))
    assert ("database_url" in required) == (function_dir in ("list_new", "load"))
    if "user_id_hmac_key" in required:
        assert (
            env["USER_ID_HMAC_KEY"] == "{{resolve:secretsmanager:<Pipeline/UserIdHmacKey>:SecretString:::}}"
        )
        secret = template.resources[template.logical_id("Pipeline/UserIdHmacKey")]["Properties"]
        generated = secret["GenerateSecretString"]
        assert generated["PasswordLength"] >= MIN_HMAC_KEY_LENGTH
        assert "SecretStringTemplate" not in generated  # the whole secret string is the key
    if "database_url" in required:
        assert env["DATABASE_URL"].startswith("postgresql://pipeline:{{resolve:secretsmanager:")


def test_ingest_wears_the_shared_tracer_switched_off(template: Template) -> None:
    # The same decorators as every handler; X-Ray per request would cost more than the function
    source = (c.FUNCTIONS_DIR / "ingest" / "handler.py").read_text(encoding="utf-8")
    assert "@tracer.capture_lambda_handler" in source
    env = template.resolve(template.one("AWS::Lambda::Function", "Ingest/Function")["Properties"])[
        "Environment"
    ]
    assert env["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"


def test_notify_takes_the_health_snapshot_of_the_other_functions_and_the_ingest_dlq(
    template: Template,
) -> None:
    env = function(template, "Notify")["Environment"]["Variables"]
    assert env["HEALTH_SNAPSHOT"] == "true"
    # role=FunctionName of the functions whose AWS/Lambda metrics it reads (clickstream/ops/health.py)
    assert env["LAMBDA_FUNCTIONS"] == (
        "list_new=<Pipeline/ListNew>,transform=<Pipeline/Transform>,load=<Pipeline/Load>,ingest=<Ingest/Function>"
    )
    assert env["INGEST_DLQ_URL"] == "<Ingest/DeadLetters>"  # a queue's Ref is its URL
    # and the names parse as the handler parses them, in the page's order
    from clickstream.ops import health
    from clickstream.pipeline.notify import NotifySettings

    parsed = health.parse_functions(env["LAMBDA_FUNCTIONS"])
    assert list(parsed) == ["list_new", "transform", "load", "ingest"] == list(health.ordered(parsed))
    # what the cost model bills: Invocations and Errors of each (docs/COST.md)
    from clickstream.tools import cost

    assert 2 * len(parsed) == cost.HEALTH_METRICS_PER_EXECUTION
    assert NotifySettings(health_snapshot=env["HEALTH_SNAPSHOT"]).health_snapshot is True
    # Only notify: the other functions neither read the metrics nor the queue
    for name in ("ListNew", "Transform", "Load"):
        assert not {"HEALTH_SNAPSHOT", "LAMBDA_FUNCTIONS"} & set(
            function(template, name)["Environment"]["Variables"]
        )
