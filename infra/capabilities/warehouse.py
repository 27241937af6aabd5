"""Warehouse: the network, the PostgreSQL host, its password and its daily snapshots.

- A VPC with private isolated subnets for the functions (no NAT gateway, no
  internet route) and an S3 gateway endpoint (free: the host's packages and
  assets, the functions' lake access). How the host reaches Session Manager
  (the only way in for an operator, and to the dashboards; no port is ever open)
  is ``-c warehouse_access=``:

  - ``public-ip`` (default, $3.65 a month): the host sits in a public subnet
    with a public IPv4 address and a security group that admits nothing from
    the internet; its agent and its password lookup reach SSM over HTTPS out.
  - ``endpoints`` ($14.60 a month): the host sits in an isolated subnet and the
    two interface endpoints Session Manager needs (ssm, ssmmessages) are in its
    subnet; nothing on the host is addressable from the internet at all.
- One small Graviton instance running PostgreSQL, configured by
  ``infra/host/warehouse.sh`` at every boot (idempotent), which also applies the
  migrations in sql/ (shipped as an S3 asset) in order with psql.
- The pipeline role's password is generated into Secrets Manager. The host
  reads it through SSM, which it talks to anyway (Parameter Store's
  /aws/reference/secretsmanager/ path); the functions get it in their
  environment at deploy time (a CloudFormation dynamic reference), so neither
  needs a Secrets Manager endpoint ($7.30 a month each AZ).
"""

from __future__ import annotations

import json

from aws_cdk import Aws, CfnTag, Fn, RemovalPolicy, SecretValue, Tags
from aws_cdk import aws_dlm as dlm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import constants as c
from infra.nag import acknowledge, acknowledge_wildcard
from infra.outputs import output


class Warehouse(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        logs_bucket: s3.IBucket,
        public_subnets: bool,
        instance_type: str,
        volume_gb: int,
        access: str = c.WAREHOUSE_ACCESS_DEFAULT,
    ) -> None:
        super().__init__(scope, construct_id)
        if access not in c.WAREHOUSE_ACCESS_MODES:
            raise ValueError(
                f"-c {c.WAREHOUSE_ACCESS_CONTEXT}= takes "
                f"{' or '.join(c.WAREHOUSE_ACCESS_MODES)}, not {access!r}"
            )
        self.access = access
        public_host = access == c.WAREHOUSE_ACCESS_PUBLIC_IP
        public_subnets = public_subnets or public_host

        subnets = [
            ec2.SubnetConfiguration(
                name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
            )
        ]
        if public_subnets:  # the host (public-ip access) and the dashboards' load balancer only
            subnets.append(
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)
            )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(c.VPC_CIDR),
            max_azs=c.MAX_AZS,
            nat_gateways=0,
            subnet_configuration=subnets,
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.S3,
                    subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)]
                    # the host's S3 traffic stays on the gateway endpoint in a public subnet too
                    + ([ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)] if public_host else []),
                )
            },
            # Nothing uses the default security group; locking it needs a custom
            # resource (a Lambda function) that buys nothing here.
            restrict_default_security_group=False,
        )
        self.vpc.add_flow_log(
            "FlowLogs",
            destination=ec2.FlowLogDestination.to_s3(logs_bucket, "vpc-flow-logs/"),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        self.isolated = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        host_subnet = self.vpc.public_subnets[0] if public_host else self.vpc.isolated_subnets[0]

        # -- security groups ------------------------------------------------
        # Egress on 443 only. In an isolated subnet that reaches only the S3 gateway
        # endpoint and the interface endpoints; in a public one, SSM over the internet
        # too. No ingress rule but PostgreSQL from the pipeline functions' group.
        self.host_sg = ec2.SecurityGroup(
            self,
            "HostSg",
            vpc=self.vpc,
            description="Warehouse host: PostgreSQL from the pipeline functions only",
            allow_all_outbound=False,
        )
        self.host_sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "S3 (gateway endpoint), SSM")
        if not public_host:
            self._session_manager_endpoints(host_subnet)

        # -- the pipeline role's password -------------------------------------
        self.secret = secretsmanager.Secret(
            self,
            "PipelinePassword",
            description="PostgreSQL password of the pipeline role on the warehouse host",
            secret_name=f"{Aws.STACK_NAME}/warehouse/{c.PIPELINE_DB_USER}",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"username": c.PIPELINE_DB_USER}),
                generate_string_key="password",
                exclude_punctuation=True,  # goes into a URL as is
                password_length=40,
            ),
            removal_policy=RemovalPolicy.DESTROY,  # the host resets the role's password from it at boot
        )
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            (
                "Self-managed PostgreSQL on EC2 has no managed rotation; rotating means a custom rotation "
                "function with database access. The role is reachable only from the pipeline functions' "
                "security group, over TLS. Manual rotation is documented in docs/DEPLOY.md."
            ),
        )

        # -- the host ----------------------------------------------------------
        # ARNs are built from the pseudo parameters (not the stack's region), so the
        # template and its acknowledged findings are the same in every region.
        ec2_arn_prefix = f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        self.role = iam.Role(
            self,
            "HostRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Warehouse host: Session Manager, its own password, its bootstrap assets",
        )
        bootstrap = s3_assets.Asset(self, "BootstrapScript", path=str(c.HOST_SCRIPTS_DIR / "warehouse.sh"))
        migrations = s3_assets.Asset(self, "Migrations", path=str(c.SQL_DIR))
        self.grant_asset_read(bootstrap, migrations)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="SessionManagerAgent",
                actions=["ssm:UpdateInstanceInformation"],
                resources=[f"{ec2_arn_prefix}:instance/*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="SessionManagerChannels",
                actions=[
                    "ssmmessages:CreateControlChannel",
                    "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel",
                    "ssmmessages:OpenDataChannel",
                ],
                resources=["*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PasswordThroughParameterStore",
                actions=["ssm:GetParameter"],
                resources=[
                    f"arn:{Aws.PARTITION}:ssm:{Aws.REGION}:{Aws.ACCOUNT_ID}:parameter"
                    f"/aws/reference/secretsmanager/{self.secret.secret_name}"
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PasswordSecret",
                actions=["secretsmanager:GetSecretValue"],
                resources=[self.secret.secret_arn],
            )
        )
        acknowledge_wildcard(
            self.role,
            "Resource::*",
            "The Session Manager message channels (ssmmessages:*Channel) have no resource-level permissions.",
        )
        acknowledge_wildcard(
            self.role,
            "Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*",
            "ssm:UpdateInstanceInformation on the host itself; its instance id cannot appear in the policy "
            "of the role the instance is launched with (a circular dependency), so: instances of this "
            "account and region.",
        )

        user_data = ec2.MultipartUserData()
        # Run the shell part at every boot, not only the first: a deploy that
        # changes it (new migrations, new dashboards) stops and starts the host.
        user_data.add_part(
            ec2.MultipartBody.from_raw_body(
                content_type='text/cloud-config; charset="utf8"',
                body="#cloud-config\ncloud_final_modules:\n- [scripts-user, always]\n",
            )
        )
        self.shell = ec2.UserData.for_linux()
        user_data.add_user_data_part(self.shell, ec2.MultipartBody.SHELL_SCRIPT, True)
        self.shell.add_commands(
            "set -euo pipefail",
            "mkdir -p /opt/clickstream/bootstrap",
            *download(bootstrap, "/opt/clickstream/bootstrap/warehouse.sh"),
            *download(migrations, "/opt/clickstream/bootstrap/migrations.zip"),
            " ".join(
                [
                    "bash /opt/clickstream/bootstrap/warehouse.sh",
                    f"--region {Aws.REGION}",
                    f"--secret-name '{self.secret.secret_name}'",
                    "--migrations /opt/clickstream/bootstrap/migrations.zip",
                    f"--pg-major {c.POSTGRES_MAJOR}",
                    f"--database {c.DB_NAME}",
                    f"--port {c.DB_PORT}",
                    f"--pipeline-user {c.PIPELINE_DB_USER}",
                    f"--dashboard-user {c.DASHBOARD_DB_USER}",
                    f"--client-cidr {c.VPC_CIDR}",
                    f"--migrations-table {c.MIGRATIONS_TABLE}",
                    f"--lock-key {c.MIGRATIONS_LOCK_KEY}",
                ]
            ),
        )

        self.host = ec2.Instance(
            self,
            "Host",
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=[host_subnet]),
            instance_type=ec2.InstanceType(instance_type),
            # Resolved by EC2 at launch, not by CloudFormation at every deploy: a
            # new AMI release never replaces the host (patch with dnf instead).
            machine_image=ec2.MachineImage.resolve_ssm_parameter_at_launch(c.AMI_PARAMETER),
            role=self.role,
            security_group=self.host_sg,
            # public-ip access: a public IPv4 address ($0.005 an hour) so that the agent reaches SSM;
            # the security group admits nothing from the internet.
            associate_public_ip_address=public_host,
            user_data=user_data,
            user_data_causes_replacement=False,
            http_tokens=ec2.HttpTokens.REQUIRED,
            credit_specification=ec2.CpuCredits.STANDARD,  # throttle rather than bill surplus CPU credits
            disable_api_termination=True,  # it holds the warehouse
            propagate_tags_to_volume_on_creation=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        volume_gb,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        encrypted=True,
                        delete_on_termination=True,  # daily snapshots outlive it
                    ),
                )
            ],
        )
        acknowledge(
            self.host,
            "AwsSolutions-EC28",
            (
                "Detailed (1-minute) monitoring costs about $2.10 a month for an hourly batch host; "
                "the basic 5-minute metrics are enough."
            ),
        )
        image_reason = (
            "ImageId is resolve:ssm:<public Amazon Linux 2023 parameter>, which EC2 resolves at launch (a "
            "documented RunInstances form); the format check knows only ami-... ids. Resolving at deploy "
            "time instead would replace the database host whenever a new AMI is published."
        )
        acknowledge(self.host, "CloudFormation-Validate::E1152", image_reason)
        cfn_host = self.host.node.default_child
        assert isinstance(cfn_host, ec2.CfnInstance)
        cfn_host.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E1152"]}})
        self.host.node.add_dependency(self.vpc)  # endpoints and routes exist before the first boot

        self._snapshots(ec2_arn_prefix)

        output(self, "WarehouseInstanceId", self.host.instance_id, "Warehouse host (Session Manager target)")
        output(
            self,
            "PipelinePasswordSecret",
            self.secret.secret_name,
            "Secrets Manager secret with the pipeline role's password",
        )

    def _session_manager_endpoints(self, host_subnet: ec2.ISubnet) -> None:
        """ssm and ssmmessages interface endpoints in the host's subnet (one AZ), for the host only."""
        endpoint_sg = ec2.SecurityGroup(
            self,
            "EndpointSg",
            vpc=self.vpc,
            description="Session Manager endpoints: HTTPS from the warehouse host",
            allow_all_outbound=False,
        )
        endpoint_sg.add_ingress_rule(self.host_sg, ec2.Port.tcp(443), "Session Manager agent on the host")
        for name, service in (
            ("Ssm", ec2.InterfaceVpcEndpointAwsService.SSM),
            ("SsmMessages", ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES),
        ):
            self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=ec2.SubnetSelection(subnets=[host_subnet]),
                security_groups=[endpoint_sg],
                open=False,
                private_dns_enabled=True,
            )

    # -- helpers used by the other capabilities -------------------------------
    def allow_database_from(self, peer: ec2.ISecurityGroup, description: str) -> None:
        self.host_sg.add_ingress_rule(peer, ec2.Port.tcp(c.DB_PORT), description)
        # The peer's egress is closed by default; open exactly this port to the host.
        peer.add_egress_rule(
            self.host_sg, ec2.Port.tcp(c.DB_PORT), f"PostgreSQL on the warehouse ({description})"
        )

    def pipeline_database_url(self, password_version: str | None = None) -> str:
        """DATABASE_URL for list_new and load. The password is a dynamic reference that
        CloudFormation resolves at deploy time (it never appears in the template).

        ``password_version`` pins a version of the secret: after a manual rotation,
        deploying with the new version id is what makes CloudFormation resolve it again
        (docs/DEPLOY.md, "Rotating the database password").
        """
        password = SecretValue.secrets_manager(
            self.secret.secret_arn, json_field="password", version_id=password_version
        ).unsafe_unwrap()
        return Fn.join(
            "",
            [
                f"postgresql://{c.PIPELINE_DB_USER}:",
                password,
                "@",
                self.host.instance_private_ip,
                f":{c.DB_PORT}/{c.DB_NAME}?sslmode=require&connect_timeout=10",
            ],
        )

    def grant_asset_read(self, *assets: s3_assets.Asset) -> None:
        """s3:GetObject on exactly these asset objects (not the whole assets bucket)."""
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[f"arn:{Aws.PARTITION}:s3:::{a.s3_bucket_name}/{a.s3_object_key}" for a in assets],
            )
        )

    def _snapshots(self, ec2_arn_prefix: str) -> None:
        """Daily crash-consistent snapshots of the host's volume (Data Lifecycle Manager, no charge
        beyond the snapshot storage), kept for SNAPSHOT_RETAIN_COUNT days."""
        key, value = c.SNAPSHOT_TAG
        Tags.of(self.host).add(key, value)
        role = iam.Role(
            self,
            "SnapshotRole",
            assumed_by=iam.ServicePrincipal("dlm.amazonaws.com"),
            description="Data Lifecycle Manager: daily snapshots of the warehouse host",
        )
        snapshots = f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}::snapshot/*"
        volumes = f"{ec2_arn_prefix}:volume/*"
        instance = f"{ec2_arn_prefix}:instance/{self.host.instance_id}"
        role.add_to_policy(
            iam.PolicyStatement(
                sid="CreateSnapshots",
                actions=["ec2:CreateSnapshots"],  # multi-volume, crash-consistent set of one instance
                resources=[instance, volumes, snapshots],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="CreateSnapshot", actions=["ec2:CreateSnapshot"], resources=[volumes, snapshots]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ManageSnapshots",
                actions=["ec2:CreateTags", "ec2:DeleteSnapshot"],
                resources=[snapshots],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="Describe",
                actions=["ec2:DescribeInstances", "ec2:DescribeVolumes", "ec2:DescribeSnapshots"],
                resources=["*"],
            )
        )
        acknowledge_wildcard(
            role, "Resource::*", "ec2:DescribeInstances/Volumes/Snapshots have no resource-level permissions."
        )
        acknowledge_wildcard(
            role,
            "Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::snapshot/*",
            "Data Lifecycle Manager creates, tags and deletes snapshots whose ids do not exist yet.",
        )
        acknowledge_wildcard(
            role,
            "Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:volume/*",
            "CreateSnapshots names the instance's volumes, whose ids are assigned at launch; the instance "
            "itself is named exactly.",
        )
        dlm.CfnLifecyclePolicy(
            self,
            "DailySnapshots",
            description="Daily snapshots of the clickstream warehouse host",
            state="ENABLED",
            execution_role_arn=role.role_arn,
            policy_details=dlm.CfnLifecyclePolicy.PolicyDetailsProperty(
                policy_type="EBS_SNAPSHOT_MANAGEMENT",
                resource_types=["INSTANCE"],
                target_tags=[CfnTag(key=key, value=value)],
                parameters=dlm.CfnLifecyclePolicy.ParametersProperty(no_reboot=True),
                schedules=[
                    dlm.CfnLifecyclePolicy.ScheduleProperty(
                        name="daily",
                        copy_tags=True,
                        create_rule=dlm.CfnLifecyclePolicy.CreateRuleProperty(
                            interval=24, interval_unit="HOURS", times=[c.SNAPSHOT_TIME_UTC]
                        ),
                        retain_rule=dlm.CfnLifecyclePolicy.RetainRuleProperty(count=c.SNAPSHOT_RETAIN_COUNT),
                    )
                ],
            ),
        )


# -- shared by the capabilities ---------------------------------------------------
def download(asset: s3_assets.Asset, dest: str) -> list[str]:
    return [f"aws s3 cp --only-show-errors --region {Aws.REGION} '{asset.s3_object_url}' '{dest}'"]
