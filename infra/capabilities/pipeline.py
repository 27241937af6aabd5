"""Pipeline: the functions, the state machine from the ASL file, the hourly schedule and the alert topic.

Data flow, in the order a reader follows it:

    EventBridge Scheduler, minute 0 of every hour, input {"scheduled_time": "<fire time>"}
      -> StartHour (functions/start_hour): starts execution hour-<closed hour> with {"hour": "<closed hour>"}
      -> state machine (statemachine/pipeline.asl.json, placeholders filled by
         clickstream.ops.definition.render + DefinitionSubstitutions)
      -> ListNew, Transform (Map), Load (CheckStagedBatches, SessionizeAndUpsert, AdvanceWatermark), Notify
      -> SNS topic (e-mail) on failure and on notable successes; alarms publish there too.

Every function's role is written out statement by statement (no managed
policies, no generated grants wider than the call needs); tests/infra
compares each one with the expected set.
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Aws, CfnParameter, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from clickstream.ops.definition import render
from infra import constants as c
from infra.bundling import (
    Copy,
    LocalPythonBundling,
    PythonTarget,
    bundled_asset_options,
    runtime_requirements,
)
from infra.capabilities.storage import Storage
from infra.capabilities.warehouse import Warehouse
from infra.nag import ENI_REASON, METRICS_REASON, XRAY_REASON, acknowledge, acknowledge_wildcard, attribute
from infra.outputs import output

LAMBDA_TARGET = PythonTarget(c.LAMBDA_PYTHON, c.LAMBDA_PLATFORMS)
PLACEHOLDER_HANDLER = (
    '"""Placeholder bundled by the template tests while the real handler is being written."""\n\n\n'
    "def handler(event, context):\n"
    '    raise NotImplementedError("functions/<name>/handler.py is missing from this bundle")\n'
)


class Pipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        warehouse: Warehouse,
        full_bundling: bool,
        password_version: str | None = None,
        business_alerts: bool = True,
        business_alert_threshold: float = c.BUSINESS_ALERT_THRESHOLD,
    ) -> None:
        super().__init__(scope, construct_id)
        self.storage = storage
        self.full_bundling = full_bundling
        self.state_machine_name = f"{Aws.STACK_NAME}-{c.STATE_MACHINE_SUFFIX}"

        self._alerts()
        self.layer = self._shared_layer()

        # list_new and load reach PostgreSQL: they run in the isolated subnets,
        # S3 through the gateway endpoint, nothing else reachable.
        self.db_clients_sg = ec2.SecurityGroup(
            self,
            "DatabaseClientsSg",
            vpc=warehouse.vpc,
            description="list_new and load: PostgreSQL on the warehouse, S3 through the gateway endpoint",
            allow_all_outbound=False,
        )
        self.db_clients_sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "S3 (gateway endpoint)")
        warehouse.allow_database_from(self.db_clients_sg, "pipeline functions")
        database_url = warehouse.pipeline_database_url(password_version)
        self.hmac_key = secretsmanager.Secret(
            self,
            "UserIdHmacKey",
            description="Key of the HMAC that hashes user_id before it is stored anywhere",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=48
            ),
            # Losing it would change every user_hash: kept when the stack is deleted.
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.hmac_key,
            "AwsSolutions-SMG4",
            "A keyed-hash key, not a credential: rotating it would change every stored user_hash and break "
            "joins across history. Only the transform function reads it (deploy time, its environment).",
        )

        lake = storage.lake
        self.functions: dict[str, lambda_.Function] = {}

        # Who touches which keys of the lake (the patterns: infra/constants.py, checked
        # against the keys the shared code writes in tests/infra/test_lake_keys.py):
        #   ListNew   lists raw/, writes staged/<execution>/work/* and worklist.json
        #   Transform reads raw/ and its work file, writes staged/<execution>/batches/* and rejects/
        #   Load      reads the worklist and the batches
        reads: dict[str, list[str]] = {
            c.LIST_NEW.name: [],
            c.TRANSFORM.name: [c.RAW_OBJECTS, c.WORK_FILES],
            c.LOAD.name: [c.WORKLIST_FILES, c.BATCH_FILES],
        }
        writes: dict[str, list[str]] = {
            c.LIST_NEW.name: [c.WORK_FILES, c.WORKLIST_FILES],
            c.TRANSFORM.name: [c.BATCH_FILES, c.REJECT_FILES],
            c.LOAD.name: [],
        }

        def lake_access(spec: c.FunctionSpec) -> list[iam.PolicyStatement]:
            statements = []
            if reads[spec.name]:
                statements.append(
                    iam.PolicyStatement(
                        actions=["s3:GetObject"],
                        resources=[lake.arn_for_objects(k) for k in reads[spec.name]],
                    )
                )
            if writes[spec.name]:
                statements.append(
                    iam.PolicyStatement(
                        actions=["s3:PutObject"],
                        resources=[lake.arn_for_objects(k) for k in writes[spec.name]],
                    )
                )
            return statements

        self.functions[c.LIST_NEW.name] = self._function(
            c.LIST_NEW,
            warehouse=warehouse,
            environment={"DATABASE_URL": database_url},
            statements=[
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[lake.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{c.RAW_PREFIX}*"]}},
                ),
                *lake_access(c.LIST_NEW),
            ],
        )
        self.functions[c.TRANSFORM.name] = self._function(
            c.TRANSFORM,
            environment={"USER_ID_HMAC_KEY": self.hmac_key.secret_value.unsafe_unwrap()},
            statements=lake_access(c.TRANSFORM),
        )
        # Load also runs CheckBusinessDays: the business alerts' switch and threshold are its settings.
        self.functions[c.LOAD.name] = self._function(
            c.LOAD,
            warehouse=warehouse,
            environment={
                "DATABASE_URL": database_url,
                "BUSINESS_ALERTS": "true" if business_alerts else "false",
                "BUSINESS_ALERT_THRESHOLD": str(business_alert_threshold),
            },
            statements=lake_access(c.LOAD),
        )
        lake_arn = attribute(lake.node.default_child, "Arn")  # type: ignore[arg-type]
        for spec in (c.LIST_NEW, c.TRANSFORM, c.LOAD):
            for pattern in sorted(set(reads[spec.name] + writes[spec.name])):
                acknowledge_wildcard(
                    self.functions[spec.name].role,  # type: ignore[arg-type]
                    f"Resource::{lake_arn}/{pattern}",
                    f"Objects matching {pattern} in the lake: their keys are made at run time (partitions, "
                    "executions), so a key pattern is the narrowest resource there is.",
                )
        # Notify: formats the notice; the state machine publishes it. It reads the
        # failed execution's history to name the state that failed, and its redriveCount
        # (DescribeExecution): AwaitRedrive fails until the execution is redriven. StartContinuation
        # starts the hour's next execution when ListNew left a backlog (states:StartExecution).
        # NotifySuccess/NotifyFailure also write the health snapshot for the dashboards
        # (clickstream/ops/health.py): the functions' AWS/Lambda metrics (GetMetricData) and the
        # ingest DLQ's depth (see watch_health) into the one key ops/health.json of the lake.
        self.functions[c.NOTIFY.name] = self._function(
            c.NOTIFY,
            environment={"HEALTH_SNAPSHOT": "true"},
            wildcard_reason=METRICS_REASON,
            statements=[
                iam.PolicyStatement(actions=["cloudwatch:GetMetricData"], resources=["*"]),
                iam.PolicyStatement(
                    actions=["s3:PutObject"], resources=[lake.arn_for_objects(c.HEALTH_SNAPSHOT_KEY)]
                ),
                iam.PolicyStatement(
                    actions=["states:GetExecutionHistory", "states:DescribeExecution"],
                    resources=[
                        f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:execution:"
                        f"{self.state_machine_name}:*"
                    ],
                ),
                iam.PolicyStatement(
                    actions=["states:StartExecution"],
                    resources=[
                        f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:stateMachine:"
                        f"{self.state_machine_name}"
                    ],
                ),
            ],
        )
        acknowledge_wildcard(
            self.functions[c.NOTIFY.name].role,  # type: ignore[arg-type]
            "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            "<AWS::StackName>-pipeline:*",
            "Executions of this one state machine; their names (hour-...) are made at run time.",
        )

        self.state_machine = self._state_machine()
        self.start_hour = self._start_hour()
        self._schedule()

        output(
            self,
            "StateMachineArn",
            self.state_machine.state_machine_arn,
            "clickstream ... --state-machine-arn",
        )
        output(self, "LakeBucketName", lake.bucket_name, "The lake: raw/, rejects/, staged/")
        output(self, "AlertTopicArn", self.topic.topic_arn, "Alerts (e-mail subscription from AlertEmail)")

    def watch_health(self, *, ingest: lambda_.IFunction, dead_letters: sqs.IQueue) -> None:
        """Tell notify which functions and which dead-letter queue its health snapshot reads.

        ``LAMBDA_FUNCTIONS`` names list_new, transform, load and ingest (not notify itself: its
        failures fail the execution, which alerts; clickstream/tools/cost.py says why); reading
        the queue's depth is ``sqs:GetQueueAttributes`` on that queue only.
        """
        notify = self.functions[c.NOTIFY.name]
        names = {
            spec.name: self.functions[spec.name].function_name for spec in (c.LIST_NEW, c.TRANSFORM, c.LOAD)
        }
        names[c.INGEST_FUNCTION] = ingest.function_name
        notify.add_environment("LAMBDA_FUNCTIONS", ",".join(f"{role}={name}" for role, name in names.items()))
        notify.add_environment("INGEST_DLQ_URL", dead_letters.queue_url)
        notify.add_to_role_policy(
            iam.PolicyStatement(actions=["sqs:GetQueueAttributes"], resources=[dead_letters.queue_arn])
        )

    # -- alerts ----------------------------------------------------------------
    def _alerts(self) -> None:
        email = CfnParameter(
            Stack.of(self),
            c.ALERT_EMAIL_PARAMETER,
            type="String",
            description="E-mail address that receives pipeline alerts (confirm the subscription e-mail)",
            allowed_pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
            constraint_description="an e-mail address",
        )
        # A customer managed key: CloudWatch alarms cannot publish to a topic
        # encrypted with the AWS managed aws/sns key (its policy cannot grant them).
        self.topic_key = kms.Key(
            self,
            "AlertsKey",
            description="Encrypts the clickstream alert topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        self.topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        self.topic = sns.Topic(
            self,
            "Alerts",
            display_name="Clickstream alerts",
            master_key=self.topic_key,
            enforce_ssl=True,
        )
        alarms_arn = f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"
        # The topic policy that enforce_ssl creates replaces SNS's default one, so
        # CloudWatch alarms of this account are allowed explicitly.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": alarms_arn},
                },
            )
        )
        self.topic.add_subscription(subscriptions.EmailSubscription(email.value_as_string))

    def grant_publish(self, role: iam.IRole) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[self.topic_key.key_arn]
            )
        )

    # -- functions ---------------------------------------------------------------
    def _shared_layer(self) -> lambda_.LayerVersion:
        """What runs on Lambda of clickstream/, sql/ and the runtime dependencies, as python/ of a layer."""
        bundler = LocalPythonBundling(
            copies=[
                Copy(c.PACKAGE_DIR / "__init__.py", "python/clickstream/__init__.py"),
                *(Copy(c.PACKAGE_DIR / name, f"python/clickstream/{name}") for name in c.LAMBDA_PACKAGES),
                Copy(c.SQL_DIR, "python/sql"),  # clickstream.core.sqlfiles reads the statements from here
            ],
            requirements=runtime_requirements(),
            target=LAMBDA_TARGET,
            install_dir="python",
            full=self.full_bundling,
        )
        return lambda_.LayerVersion(
            self,
            "Shared",
            description="clickstream package and its runtime dependencies",
            code=lambda_.Code.from_asset(str(c.PACKAGE_DIR), **bundled_asset_options(bundler)),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
            compatible_architectures=[lambda_.Architecture.ARM_64],
        )

    def _function(
        self,
        spec: c.FunctionSpec,
        *,
        statements: list[iam.PolicyStatement],
        environment: dict[str, str] | None = None,
        warehouse: Warehouse | None = None,
        wildcard_reason: str = "",
    ) -> lambda_.Function:
        source = c.FUNCTIONS_DIR / spec.name
        return self._lambda(
            spec.construct_id,
            description=f"{spec.construct_id}: functions/{spec.name}/handler.py",
            source=source,
            memory_mb=spec.memory_mb,
            timeout_s=spec.timeout_s,
            statements=statements,
            environment={
                "LAKE_BUCKET": self.storage.lake.bucket_name,
                "LOOKBACK_HOURS": str(c.LOOKBACK_HOURS),
                "REJECT_ALERT_RATIO": str(c.REJECT_ALERT_RATIO),
                **(environment or {}),
            },
            warehouse=warehouse if spec.in_vpc else None,
            wildcard_reason=wildcard_reason,
        )

    def _lambda(
        self,
        construct_id: str,
        *,
        description: str,
        source: Path,
        memory_mb: int,
        timeout_s: int,
        statements: list[iam.PolicyStatement],
        environment: dict[str, str],
        warehouse: Warehouse | None = None,
        wildcard_reason: str = "",
    ) -> lambda_.Function:
        """``wildcard_reason``: why the function's own statements use '*' too (X-Ray's is said)."""
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{construct_id} function: least privilege, see infra/capabilities/pipeline.py",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        for statement in statements:
            role.add_to_policy(statement)
        vpc_options: dict[str, object] = {}
        if warehouse is not None:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSubnets",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=["*"],
                )
            )
            vpc_options = {
                "vpc": warehouse.vpc,
                "vpc_subnets": warehouse.isolated,
                "security_groups": [self.db_clients_sg],
            }
        reasons = [XRAY_REASON, *([ENI_REASON] if warehouse is not None else []), wildcard_reason]
        acknowledge_wildcard(role, "Resource::*", " ".join(r for r in reasons if r))
        bundler = LocalPythonBundling(
            copies=[Copy(source, ".")],
            requirements=[],
            target=LAMBDA_TARGET,
            install_dir=".",
            full=self.full_bundling,
            placeholders={"handler.py": PLACEHOLDER_HANDLER},
        )
        function = lambda_.Function(
            self,
            construct_id,
            description=description,
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            # With a custom hash and local bundling the path is only a mount point
            # for Docker (never used): any existing directory will do.
            code=lambda_.Code.from_asset(
                str(source if source.is_dir() else c.START_HOUR_DIR), **bundled_asset_options(bundler)
            ),
            layers=[self.layer],
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_s),
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "POWERTOOLS_SERVICE_NAME": c.SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": c.METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "RUNTIME": "aws",
                **environment,
            },
            **vpc_options,  # type: ignore[arg-type]
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            "Python 3.12 on purpose: the shared layer is built for it (pip --python-version 3.12) and CI "
            "tests on it; moving to a newer runtime is a deliberate change of both.",
        )
        return function

    def _start_hour(self) -> lambda_.Function:
        function = self._lambda(
            "StartHour",
            description="StartHour: starts the execution of the hour that just closed (functions/start_hour)",
            source=c.START_HOUR_DIR,
            memory_mb=c.START_HOUR_MEMORY_MB,
            timeout_s=c.START_HOUR_TIMEOUT_S,
            statements=[
                iam.PolicyStatement(
                    actions=["states:StartExecution"], resources=[self.state_machine.state_machine_arn]
                )
            ],
            environment={"STATE_MACHINE_ARN": self.state_machine.state_machine_arn},
        )
        return function

    # -- the state machine ---------------------------------------------------------
    def _state_machine(self) -> sfn.StateMachine:
        role = iam.Role(
            self,
            "StateMachineRole",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="Clickstream pipeline state machine: invoke its four functions, publish alerts",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[f.function_arn for f in self.functions.values()],
            )
        )
        self.grant_publish(role)
        log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            log_group_name=f"/aws/vendedlogs/states/{self.state_machine_name}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        substitutions = {
            spec.asl_placeholder: self.functions[spec.name].function_arn for spec in c.PIPELINE_FUNCTIONS
        }
        substitutions[c.ALERT_TOPIC_PLACEHOLDER] = self.topic.topic_arn
        machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(render(c.NUMBERS)),
            definition_substitutions=substitutions,
            role=role,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        acknowledge_wildcard(
            role,
            "Resource::*",
            f"{XRAY_REASON} Execution logging uses the CloudWatch Logs delivery APIs "
            "(logs:CreateLogDelivery, logs:PutResourcePolicy...), which IAM grants on '*' only.",
        )
        return machine

    # -- the schedule ----------------------------------------------------------------
    def _schedule(self) -> None:
        """Minute 0 of every hour (UTC), StartHour gets {"scheduled_time": "<the fire time>"}.

        Written as the CloudFormation resource itself: the L2 target grants
        invoke on the function's versions too (``<arn>:*``), which we do not use.
        """
        role = iam.Role(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description="EventBridge Scheduler: invoke StartHour",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.start_hour.function_arn])
        )
        self.schedule = scheduler.CfnSchedule(
            self,
            "Hourly",
            description="Every hour at minute 0 (UTC): run the hour that just closed",
            schedule_expression=c.SCHEDULE_EXPRESSION,
            schedule_expression_timezone="Etc/UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.start_hour.function_arn,
                role_arn=role.role_arn,
                input=json.dumps(SCHEDULE_INPUT),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=3, maximum_event_age_in_seconds=3600
                ),
            ),
        )
        self.schedule.node.add_dependency(role)


# What the schedule sends to StartHour; the context attribute is the fire time (UTC, ISO 8601).
SCHEDULE_INPUT = {"scheduled_time": "<aws.scheduler.scheduled-time>"}
