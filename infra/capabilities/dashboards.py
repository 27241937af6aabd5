"""Dashboards: the Shiny for Python app (shiny/) served on the warehouse host.

By default it listens on 127.0.0.1 only and is reached with Session Manager
port forwarding (no public port, no load balancer to pay for); see the
``DashboardsPortForwarding`` output and docs/DEPLOY.md.

With ``-c dashboard_domain=... -c dashboard_certificate_arn=...`` it is also
served through an internet-facing HTTPS load balancer that signs users in
with a Cognito user pool (administrators create the users; no self sign-up).
"""

from __future__ import annotations

import re

from aws_cdk import Aws, Duration, Fn, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_elasticloadbalancingv2_actions as elbv2_actions
from aws_cdk import aws_elasticloadbalancingv2_targets as elbv2_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra import constants as c
from infra.bundling import (
    Copy,
    LocalPythonBundling,
    PythonTarget,
    bundled_asset_options,
    optional_requirements,
    runtime_requirements,
)
from infra.capabilities.warehouse import Warehouse, download
from infra.nag import acknowledge
from infra.outputs import output

BROWSER_TEST_ONLY = {"playwright"}  # in the dashboards extra for the tests, not needed to serve


def dashboard_requirements() -> list[str]:
    extra = [r for r in optional_requirements("dashboards") if _name(r) not in BROWSER_TEST_ONLY]
    return runtime_requirements() + extra


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


class Dashboards(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        warehouse: Warehouse,
        lake: s3.IBucket,
        logs_bucket: s3.IBucket,
        full_bundling: bool,
        domain_name: str | None = None,
        certificate_arn: str | None = None,
        auth_domain_prefix: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        public = bool(domain_name and certificate_arn)

        bundler = LocalPythonBundling(
            copies=[Copy(c.SHINY_DIR, "shiny"), Copy(c.PACKAGE_DIR, "clickstream")],
            requirements=dashboard_requirements(),
            target=PythonTarget(c.HOST_PYTHON, c.HOST_PLATFORMS),
            install_dir="python",
            full=full_bundling,
        )
        # The path is only Docker's mount point (never used): the bundler copies.
        app = s3_assets.Asset(self, "App", path=str(c.PACKAGE_DIR), **bundled_asset_options(bundler))
        script = s3_assets.Asset(self, "Script", path=str(c.HOST_SCRIPTS_DIR / "dashboards.sh"))
        warehouse.grant_asset_read(app, script)
        # The Reliability page's Lambda error rates and DLQ depth: the notify function's snapshot
        # (clickstream/ops/health.py), read through the S3 gateway endpoint; that one key only.
        warehouse.role.add_to_policy(
            iam.PolicyStatement(
                sid="HealthSnapshot",
                actions=["s3:GetObject"],
                resources=[lake.arn_for_objects(c.HEALTH_SNAPSHOT_KEY)],
            )
        )
        warehouse.shell.add_commands(
            *download(script, "/opt/clickstream/bootstrap/dashboards.sh"),
            *download(app, "/opt/clickstream/bootstrap/dashboards.zip"),
            " ".join(
                [
                    "bash /opt/clickstream/bootstrap/dashboards.sh",
                    "--bundle /opt/clickstream/bootstrap/dashboards.zip",
                    f"--bind {'0.0.0.0' if public else '127.0.0.1'}",
                    f"--port {c.DASHBOARD_PORT}",
                    f"--database {c.DB_NAME}",
                    f"--user {c.DASHBOARD_DB_USER}",
                    f"--python {c.HOST_PYTHON}",
                    f"--region {Aws.REGION}",
                    f"--health-snapshot-bucket {lake.bucket_name}",
                ]
            ),
        )
        output(
            self,
            "DashboardsPortForwarding",
            Fn.join(
                "",
                [
                    "aws ssm start-session --region ",
                    Aws.REGION,
                    " --target ",
                    warehouse.host.instance_id,
                    " --document-name AWS-StartPortForwardingSession --parameters "
                    f'\'{{"portNumber":["{c.DASHBOARD_PORT}"],"localPortNumber":["{c.DASHBOARD_PORT}"]}}\'',
                ],
            ),
            f"Open http://localhost:{c.DASHBOARD_PORT} while this runs (needs the Session Manager plugin)",
        )
        if public:
            assert domain_name and certificate_arn
            self._load_balancer(warehouse, logs_bucket, domain_name, certificate_arn, auth_domain_prefix)

    def _load_balancer(
        self,
        warehouse: Warehouse,
        logs_bucket: s3.IBucket,
        domain_name: str,
        certificate_arn: str,
        auth_domain_prefix: str | None,
    ) -> None:
        alb_sg = ec2.SecurityGroup(
            self,
            "LoadBalancerSg",
            vpc=warehouse.vpc,
            description="Dashboards load balancer: HTTPS from anywhere (Cognito sign-in in front)",
            allow_all_outbound=False,
        )
        alb_sg.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS")
        # The authenticate-cognito action calls the user pool's endpoints from the load balancer.
        alb_sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "Cognito token endpoint")
        acknowledge(
            alb_sg,
            "AwsSolutions-EC23",
            "The dashboards' public HTTPS entry point, enabled only when a domain and certificate are given; "
            "every request is authenticated by Cognito at the load balancer before it reaches the host.",
        )
        alb = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=warehouse.vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_group=alb_sg,
            drop_invalid_header_fields=True,
        )
        alb.log_access_logs(logs_bucket, "alb/dashboards")

        users = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,  # administrators create the users
            sign_in_aliases=cognito.SignInAliases(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=RemovalPolicy.DESTROY,
        )
        plus_plan = (
            "Threat protection (advanced security) needs the Cognito Plus feature plan, billed per monthly "
            "active user; sign-in is already limited to administrator-created users with TOTP MFA required."
        )
        acknowledge(users, "AwsSolutions-COG3", plus_plan)
        acknowledge(users, "AwsSolutions-COG8", plus_plan)
        prefix = (
            auth_domain_prefix or re.sub(r"[^a-z0-9-]", "-", domain_name.lower()).strip("-")[:50] + "-auth"
        )
        auth_domain = users.add_domain(
            "SignIn", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=prefix)
        )
        client = users.add_client(
            "Dashboards",
            generate_secret=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                callback_urls=[f"https://{domain_name}/oauth2/idpresponse"],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
        )

        targets = elbv2.ApplicationTargetGroup(
            self,
            "Host",
            vpc=warehouse.vpc,
            port=c.DASHBOARD_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[elbv2_targets.InstanceTarget(warehouse.host, c.DASHBOARD_PORT)],
            health_check=elbv2.HealthCheck(path="/", healthy_http_codes="200"),
            deregistration_delay=Duration.seconds(10),
        )
        alb.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            open=False,  # the ingress rule above is the only one
            default_action=elbv2_actions.AuthenticateCognitoAction(
                user_pool=users,
                user_pool_client=client,
                user_pool_domain=auth_domain,
                next=elbv2.ListenerAction.forward([targets]),
            ),
        )
        # Only the load balancer reaches the app's port on the host.
        warehouse.host_sg.add_ingress_rule(alb_sg, ec2.Port.tcp(c.DASHBOARD_PORT), "Dashboards load balancer")
        alb_sg.add_egress_rule(warehouse.host_sg, ec2.Port.tcp(c.DASHBOARD_PORT), "Dashboards on the host")

        output(self, "DashboardsUrl", f"https://{domain_name}", "Dashboards (Cognito sign-in)")
        output(
            self,
            "DashboardsLoadBalancerDns",
            alb.load_balancer_dns_name,
            f"Point {domain_name} here (CNAME, or an alias record in Route 53)",
        )
        output(
            self, "DashboardsUserPoolId", users.user_pool_id, "Create the dashboard users in this user pool"
        )
