"""Ingest: the demo storefront and the ingest API, on one CloudFront distribution.

Data flow, in the order a reader follows it:

    browser -> CloudFront (WAF web ACL: a per-IP rate limit, then AWS managed rule groups)
      /                     -> the storefront bucket (private, origin access control): sdk/storefront
      /sdk/tracker.min.js   -> the same bucket: sdk/dist/tracker.min.js
      /v1/*                 -> the HTTP API (API Gateway v2), never cached; CloudFront adds
                               CloudFront-Viewer-Country (origin request policy)
         POST /v1/events    -> functions/ingest -> the raw/ Firehose stream (Amazon Data Firehose,
                               Direct PUT), which buffers up to a minute and writes gzipped NDJSON
                               objects to raw/year=/month=/day=/hour=/ of the receive hour; lines
                               it does not take go to the dead-letter queue (SQS), whose depth
                               raises an alarm.

Pages and API share one origin, so the browser makes no CORS request. A shop whose pages
live on its own domain posts cross-origin: the HTTP API answers CORS (preflight included) for
the exact origins of ``-c clickstream:allowedOrigins=...`` only, never with credentials, and
CloudFront forwards the headers that answer depends on. Shoppers sign in
with the Cognito user pool; the page passes the ID token's ``sub`` to
``clickstream.identify()``, the tracker sends it as ``user_id``, and ingest replaces it with
its keyed hash before anything is stored. The API accepts anonymous events: it has no
authorizer (docs/DEPLOY.md, "The storefront and the ingest API").

The web ACL is opt-in (``-c ingest_waf=on``, $9 a month and $0.60 per million requests): it has
CLOUDFRONT scope, which AWS creates in us-east-1 only, so the stack refuses another region with
it on (infra/stack.py).
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_wafv2 as wafv2
from aws_cdk.region_info import RegionInfo
from constructs import Construct

from infra import constants as c
from infra.bundling import Copy, LocalPythonBundling, bundled_asset_options
from infra.capabilities.alarms import alarm
from infra.capabilities.pipeline import LAMBDA_TARGET, PLACEHOLDER_HANDLER, Pipeline
from infra.capabilities.storage import Storage, log_bucket
from infra.nag import acknowledge, acknowledge_wildcard, attribute
from infra.outputs import output

FIVE_MINUTES = Duration.minutes(5)
# One JSON line per request in the API's access log: no IP address or user agent (the API
# sees CloudFront's, and the CloudFront logs have the viewer's).
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationStatus": "$context.integrationStatus",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    """The HTTP API stage's access logs: JSON lines in a log group."""

    def __init__(self, group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(
            "{" + ",".join(f'"{k}":"{v}"' for k, v in ACCESS_LOG_FIELDS.items()) + "}"
        )


class Ingest(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        pipeline: Pipeline,
        full_bundling: bool,
        waf: bool,
        allowed_origins: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = self._dead_letter_queue()
        self.stream = self._raw_stream(storage)
        self.function = self._function(storage, pipeline, full_bundling)
        self.api = self._http_api(allowed_origins)
        self.site = self._site_bucket()
        self.web_acl = self._web_acl() if waf else None
        self.distribution = self._distribution()
        self._deploy_storefront(full_bundling)
        self.users, self.client = self._shoppers()
        self._alarms(pipeline.topic)

        url = f"https://{self.distribution.distribution_domain_name}"
        output(self, "StorefrontUrl", url, "The demo storefront (ByteBay), with the tracker")
        output(self, "IngestEndpoint", f"{url}{c.EVENTS_ROUTE}", "POST events here (same origin)")
        output(self, "ShoppersUserPoolId", self.users.user_pool_id, "Shoppers sign in to this user pool")
        output(self, "ShoppersUserPoolClientId", self.client.user_pool_client_id, "Storefront app client")
        output(
            self,
            "IngestDeadLetterQueueUrl",
            self.dead_letters.queue_url,
            "Batches whose raw write failed (replay: docs/DEPLOY.md)",
        )

    # -- the dead-letter queue -------------------------------------------------------------
    def _dead_letter_queue(self) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(c.INGEST_DLQ_RETENTION_DAYS),
        )
        acknowledge(
            queue,
            "AwsSolutions-SQS3",
            "This queue is itself the ingest's dead-letter store: the function sends a batch here when "
            "its raw write fails, and an operator replays it into raw/ (DeadLetterQueue.replay). Nothing "
            "consumes it automatically, so there is no failed consumer a second queue would catch.",
        )
        return queue

    # -- the raw/ stream ------------------------------------------------------------------------
    def _raw_stream(self, storage: Storage) -> firehose.CfnDeliveryStream:
        """Amazon Data Firehose, Direct PUT, to raw/: a gzipped NDJSON object a minute (or per 64 MB)
        in the receive hour's partition, instead of one S3 PUT per request."""
        errors = logs.LogGroup(
            self,
            "RawStreamLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        errors_stream = logs.LogStream(self, "RawStreamDeliveryErrors", log_group=errors)
        role = iam.Role(
            self,
            "RawStreamRole",
            assumed_by=iam.ServicePrincipal(
                "firehose.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description="Firehose raw/ stream: writes raw/ and its delivery errors, nothing else",
        )
        lake = storage.lake
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteRawObjects",
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[
                    lake.arn_for_objects(c.RAW_OBJECTS),
                    lake.arn_for_objects(c.RAW_STREAM_ERROR_OBJECTS),
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="LakeBucket",
                actions=["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                resources=[lake.bucket_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DeliveryErrors", actions=["logs:PutLogEvents"], resources=[errors.log_group_arn]
            )
        )
        lake_arn = attribute(lake.node.default_child, "Arn")  # type: ignore[arg-type]
        for pattern in (c.RAW_OBJECTS, c.RAW_STREAM_ERROR_OBJECTS):
            acknowledge_wildcard(
                role,
                f"Resource::{lake_arn}/{pattern}",
                "Firehose names each object it delivers (receive hour, stream, time, uuid): the prefix is "
                "the narrowest resource there is; it can put objects there, not read or delete them.",
            )
        acknowledge_wildcard(
            role,
            "Resource::<IngestRawStreamLogs.Arn>",
            "PutLogEvents on the stream's own delivery-error log group (CDK's log group ARN ends in :*).",
        )
        stream = firehose.CfnDeliveryStream(
            self,
            "RawStream",
            delivery_stream_type="DirectPut",
            # Encrypted at rest with a key AWS owns (no key-month charge); raw/ objects get the
            # bucket's SSE-S3.
            delivery_stream_encryption_configuration_input=(
                firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                    key_type="AWS_OWNED_CMK"
                )
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=lake.bucket_arn,
                role_arn=role.role_arn,
                prefix=c.RAW_STREAM_PREFIX,
                error_output_prefix=c.RAW_STREAM_ERROR_PREFIX,
                file_extension=c.RAW_STREAM_EXTENSION,
                compression_format="GZIP",
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=c.RAW_STREAM_BUFFER_S,
                    size_in_m_bs=c.RAW_STREAM_BUFFER_MB,
                ),
                cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                    enabled=True,
                    log_group_name=errors.log_group_name,
                    log_stream_name=errors_stream.log_stream_name,
                ),
            ),
        )
        stream.node.add_dependency(role)  # the role's policy exists before Firehose checks it
        return stream

    # -- the function ------------------------------------------------------------------------
    def _function(self, storage: Storage, pipeline: Pipeline, full_bundling: bool) -> lambda_.Function:
        log_group, role = _logging_role(
            self, "Function", "Ingest function: puts records into the raw/ stream, dead-letters failed ones"
        )
        # Write-only: records into the raw/ stream (Firehose writes raw/), never the lake itself.
        role.add_to_policy(
            iam.PolicyStatement(actions=["firehose:PutRecordBatch"], resources=[self.stream.attr_arn])
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.dead_letters.queue_arn])
        )

        source = c.FUNCTIONS_DIR / c.INGEST_FUNCTION
        bundler = LocalPythonBundling(
            copies=[Copy(source, ".")],
            requirements=[],
            target=LAMBDA_TARGET,
            install_dir=".",
            full=full_bundling,
            placeholders={"handler.py": PLACEHOLDER_HANDLER},
        )
        function = lambda_.Function(
            self,
            "Function",
            description=f"Ingest: POST {c.EVENTS_ROUTE} -> raw/ (functions/{c.INGEST_FUNCTION}/handler.py)",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            # The path is only Docker's mount point (never used): the bundler copies.
            code=lambda_.Code.from_asset(str(source), **bundled_asset_options(bundler)),
            layers=[pipeline.layer],
            memory_size=c.INGEST_MEMORY_MB,
            timeout=Duration.seconds(c.INGEST_TIMEOUT_S),
            role=role,
            log_group=log_group,
            # No START/END/REPORT lines per request (their figures are in the AWS/Lambda metrics).
            logging_format=lambda_.LoggingFormat.JSON,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            # Not traced: at ~100,000 requests a day X-Ray's default sampling (one request a second
            # plus 5%) would record ~2.6 million traces a month ($13); the access logs, the function's
            # logs and its alarms cover it. (HTTP APIs cannot trace at all.)
            tracing=lambda_.Tracing.DISABLED,
            environment={
                "POWERTOOLS_SERVICE_NAME": c.SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": c.METRICS_NAMESPACE,
                # Warnings and errors only: a line per request would be ~$4 a month per million
                # requests (docs/COST.md); the API's access log has one line per request.
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                # The handler wears the shared tracer like every other; here it records nothing.
                "POWERTOOLS_TRACE_DISABLED": "true",
                "RUNTIME": "aws",
                "LAKE_BUCKET": storage.lake.bucket_name,
                "INGEST_STREAM_NAME": self.stream.ref,
                "INGEST_DLQ_URL": self.dead_letters.queue_url,
                # The same key as transform's: a user_id hashed here is recognised and kept there.
                "USER_ID_HMAC_KEY": pipeline.hmac_key.secret_value.unsafe_unwrap(),
            },
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            "Python 3.12 on purpose: the shared layer it uses is built for it (pip --python-version "
            "3.12) and CI tests on it; moving to a newer runtime is a deliberate change of both.",
        )
        return function

    # -- the HTTP API ----------------------------------------------------------------------------
    def _http_api(self, allowed_origins: tuple[str, ...]) -> apigwv2.HttpApi:
        # CORS for the pages of a shop on its own domain: API Gateway answers the preflight itself
        # (no OPTIONS route, the function never runs) and adds the allow-origin header to the
        # function's answers, for these exact origins only; never credentials. None: no CORS at all.
        cors = (
            apigwv2.CorsPreflightOptions(
                allow_origins=list(allowed_origins),
                allow_methods=[apigwv2.CorsHttpMethod(m) for m in c.CORS_ALLOW_METHODS],
                allow_headers=list(c.CORS_ALLOW_HEADERS),
                allow_credentials=False,
                max_age=Duration.seconds(c.CORS_MAX_AGE_S),
            )
            if allowed_origins
            else None
        )
        api = apigwv2.HttpApi(
            self,
            "Api",
            description=f"Clickstream ingest: POST {c.EVENTS_ROUTE}, reached through CloudFront",
            create_default_stage=False,
            cors_preflight=cors,
        )
        (route,) = api.add_routes(
            path=c.EVENTS_ROUTE,
            methods=[apigwv2.HttpMethod.POST],
            integration=integrations.HttpLambdaIntegration(
                "Ingest",
                self.function,
                payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
            ),
        )
        acknowledge(
            route,
            "AwsSolutions-APIG4",
            "Anonymous shoppers send events too, so the route takes no token: a signed-in shopper's id "
            "travels in the event (user_id, hashed by ingest). WAF, the stage throttle and ingest's own "
            "validation and size limits protect it.",
        )
        access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        apigwv2.HttpStage(
            self,
            "ApiStage",
            http_api=api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=c.API_THROTTLE_RATE_RPS, burst_limit=c.API_THROTTLE_BURST
            ),
            access_log_settings=_AccessLogs(access_logs),
        )
        return api

    # -- the storefront's bucket and the distribution ------------------------------------------
    def _site_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "Storefront",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Built from sdk/ at every deploy; the deployment empties it when the stack goes.
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "Read only by CloudFront (origin access control), whose standard logs record every viewer "
            "request; S3 access logs would only repeat CloudFront's own fetches, and writes happen only "
            "at deploy time (CloudFormation).",
        )
        return bucket

    def _web_acl(self) -> wafv2.CfnWebACL:
        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            )

        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitPerIp",
                priority=0,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP",
                        limit=c.WAF_RATE_LIMIT_PER_IP,
                        evaluation_window_sec=c.WAF_RATE_WINDOW_S,
                    )
                ),
                visibility_config=visibility("RateLimitPerIp"),
            )
        ]
        for priority, group in enumerate(c.WAF_MANAGED_RULE_GROUPS, start=1):
            count_only = c.WAF_COUNT_ONLY_RULES.get(group, ())
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=group,
                    priority=priority,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS",
                            name=group,
                            rule_action_overrides=[
                                wafv2.CfnWebACL.RuleActionOverrideProperty(
                                    name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                                )
                                for rule in count_only
                            ]
                            or None,
                        )
                    ),
                    visibility_config=visibility(group),
                )
            )
        return wafv2.CfnWebACL(
            self,
            "WebAcl",
            description="Clickstream storefront and ingest API: per-IP rate limit, AWS managed rules",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility("ClickstreamEdge"),
            rules=rules,
        )

    def _distribution(self) -> cloudfront.Distribution:
        # CloudFront's standard logs are delivered with an S3 ACL grant: a bucket of their
        # own with ACLs enabled (the stack's log bucket has ACLs disabled).
        cdn_logs = log_bucket(
            self,
            "CdnLogs",
            s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            "This is a log bucket itself (CloudFront's standard logs); logging it would log its own log "
            "writes, like the stack's other log bucket.",
        )
        api_requests = cloudfront.OriginRequestPolicy(
            self,
            "ApiRequests",
            comment="Ingest API: the viewer headers ingest and its CORS answer read, and the viewer country",
            header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list(
                *c.INGEST_FORWARDED_HEADERS, *c.CORS_FORWARDED_HEADERS
            ),
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.none(),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
        )
        api_domain = f"{self.api.api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}"
        distribution = cloudfront.Distribution(
            self,
            "Cdn",
            comment="Clickstream: the demo storefront and the ingest API (same origin)",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.site),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
                compress=True,
            ),
            additional_behaviors={
                c.API_PATH_PATTERN: cloudfront.BehaviorOptions(
                    origin=origins.HttpOrigin(
                        api_domain,
                        protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                        origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
                    ),
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,  # the only set with POST
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    origin_request_policy=api_requests,
                )
            },
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=cdn_logs,
            log_file_prefix="cloudfront/",
            web_acl_id=self.web_acl.attr_arn if self.web_acl is not None else None,
        )
        acknowledge(
            distribution,
            "AwsSolutions-CFR1",
            "A shop open to visitors from every country: no geo restriction. The country is recorded "
            "(CloudFront-Viewer-Country), not used to refuse anyone.",
        )
        acknowledge(
            distribution,
            "AwsSolutions-CFR4",
            "The distribution uses its default *.cloudfront.net certificate, with which CloudFront fixes "
            "the minimum viewer protocol at TLSv1; a custom domain with an ACM certificate (TLSv1.2_2021) "
            "is left to the shop that deploys it.",
        )
        if self.web_acl is None:
            acknowledge(
                distribution,
                "AwsSolutions-CFR2",
                "WAF is opt-in (-c ingest_waf=on, $9 a month plus $0.60 per million requests, docs/COST.md): "
                "a small shop's default deployment goes without; the HTTP API stage throttle and ingest's "
                "limits (body, events per request) remain.",
            )
        return distribution

    def _deploy_storefront(self, full_bundling: bool) -> None:
        """sdk/storefront at the bucket's root and the committed tracker at sdk/tracker.min.js."""
        log_group, role = _logging_role(
            self, "StorefrontDeployment", "Copies the storefront asset into its bucket at deploy time"
        )
        bundler = LocalPythonBundling(
            copies=[Copy(c.STOREFRONT_DIR, "."), Copy(c.TRACKER_BUNDLE, c.TRACKER_KEY)],
            requirements=[],
            target=LAMBDA_TARGET,
            install_dir=".",
            full=full_bundling,
        )
        # No CloudFront invalidation (it would need cloudfront:CreateInvalidation on "*"): the
        # files are cached for STOREFRONT_MAX_AGE_S, so a deploy shows within minutes.
        deployment = s3_deployment.BucketDeployment(
            self,
            "StorefrontFiles",
            destination_bucket=self.site,
            sources=[s3_deployment.Source.asset(str(c.STOREFRONT_DIR), **bundled_asset_options(bundler))],
            cache_control=[
                s3_deployment.CacheControl.set_public(),
                s3_deployment.CacheControl.max_age(Duration.seconds(c.STOREFRONT_MAX_AGE_S)),
            ],
            prune=True,
            retain_on_delete=False,
            role=role,
            log_group=log_group,
        )
        site_arn = attribute(self.site.node.default_child, "Arn")  # type: ignore[arg-type]
        # The CDK assets bucket of the default synthesizer, as cdk-nag prints it.
        region = Stack.of(self).region
        partition = RegionInfo.get(region).partition
        assets = f"arn:{partition}:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-{region}"
        reason = (
            "CDK's BucketDeployment grants these to the role it is given: it reads the storefront asset "
            "from the CDK assets bucket and syncs it into the storefront bucket (list, put, delete "
            "pruned files). Both buckets are named exactly; the wildcards are object keys and the "
            "read/list action families the AWS CLI sync uses."
        )
        for finding in (
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:List*",
            "Action::s3:DeleteObject*",
            "Action::s3:Abort*",
            f"Resource::{assets}/*",
            f"Resource::{site_arn}/*",
        ):
            acknowledge_wildcard(role, finding, reason)
        handler = _bucket_deployment_handler(Stack.of(self))
        acknowledge(
            handler,
            "AwsSolutions-L1",
            "CDK's BucketDeployment provider function (AWS CLI s3 sync): CDK pins its runtime, and it runs "
            "only during deployments.",
        )
        self.storefront_deployment = deployment

    # -- shoppers -----------------------------------------------------------------------------------
    def _shoppers(self) -> tuple[cognito.UserPool, cognito.UserPoolClient]:
        users = cognito.UserPool(
            self,
            "Shoppers",
            self_sign_up_enabled=True,  # shoppers register themselves
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=8,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Sign-up, sign-in, TOTP: all in Lite, the cheapest plan per monthly active user.
            feature_plan=cognito.FeaturePlan.LITE,
            # Shoppers' accounts outlive the stack.
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            users,
            "AwsSolutions-COG2",
            "Shoppers of a public shop: requiring MFA would turn most of them away at sign-up; TOTP is "
            "offered (optional). The tokens only identify a shopper in analytics, they grant no AWS access.",
        )
        plus_plan = (
            "Threat protection (advanced security) needs the Cognito Plus feature plan, billed per monthly "
            "active user; a shopper's token only labels their clickstream events (hashed user id)."
        )
        acknowledge(users, "AwsSolutions-COG8", plus_plan)
        client = users.add_client(
            "Storefront",
            generate_secret=False,  # a browser cannot keep a secret
            auth_flows=cognito.AuthFlow(user_srp=True),
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
        return users, client

    # -- alarms -------------------------------------------------------------------------------------
    def _alarms(self, topic: sns.ITopic) -> None:
        action = actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []
        specs: list[tuple[str, Any, str]] = [
            (
                "DeadLetterDepth",
                self.dead_letters.metric_approximate_number_of_messages_visible(
                    period=FIVE_MINUTES, statistic="Maximum"
                ),
                "Firehose refused or could not take lines of a batch and ingest dead-lettered them. Fix "
                "the stream (or its access), then replay the queue into raw/ (docs/DEPLOY.md, 'Replay "
                "dead-lettered events').",
            ),
            (
                "FunctionErrors",
                self.function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                "The ingest function raised errors (API clients got 5xx and retry; look at its logs).",
            ),
        ]
        for construct_id, metric, description in specs:
            self.alarms.append(
                alarm(self, construct_id, action, metric=metric, alarm_description=description)
            )


def _logging_role(scope: Construct, name: str, description: str) -> tuple[logs.LogGroup, iam.Role]:
    """A Lambda function's log group (``<name>Logs``, a month) and its role (``<name>Role``), allowed
    to write that group only; the caller adds what the function does."""
    log_group = logs.LogGroup(
        scope,
        f"{name}Logs",
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
    )
    role = iam.Role(
        scope,
        f"{name}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description,
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
        )
    )
    return log_group, role


def _bucket_deployment_handler(stack: Stack) -> Construct:
    """The singleton provider function CDK adds at the stack's root for BucketDeployment."""
    found = [
        child for child in stack.node.children if child.node.id.startswith("Custom::CDKBucketDeployment")
    ]
    if len(found) != 1:
        raise LookupError(f"expected one BucketDeployment provider function, found {len(found)}")
    return found[0].node.default_child  # type: ignore[return-value]
