"""Ingest: the storefront and POST /v1/events on one CloudFront distribution, WAF, Cognito, the DLQ."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path
from typing import Any

import pytest

from clickstream.pipeline.ingest import IngestSettings
from infra import constants as c
from tests.support.cdk import (
    BLOCK_ALL,
    Synth,
    bucket_policy,
    cfn_lint_findings,
    denies_plain_http,
    nag_findings,
    synthesize,
)
from tests.support.iam import INGEST_ROLES, LAKE, SITE, assert_exactly_granted, principals
from tests.support.template import Template

OTHER_REGION = "eu-west-1"
DISTRIBUTION_ARN = "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/<Ingest/Cdn>"


@pytest.fixture(scope="module")
def no_waf_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Another region, where a CLOUDFRONT-scope web ACL cannot be made: the default (no WAF) deploys."""
    return synthesize(tmp_path_factory.mktemp("cdk-no-waf"), **{c.REGION_CONTEXT: OTHER_REGION})


@pytest.fixture(scope="module")
def waf_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The opt-in web ACL (-c ingest_waf=on), in us-east-1."""
    return synthesize(tmp_path_factory.mktemp("cdk-waf"), **{c.INGEST_WAF_CONTEXT: "on"})


def props(template: Template, cfn_type: str, path: str) -> dict[str, Any]:
    return dict(template.resolve(template.one(cfn_type, path)["Properties"]))


def distribution(template: Template) -> dict[str, Any]:
    return dict(props(template, "AWS::CloudFront::Distribution", "Ingest/Cdn")["DistributionConfig"])


def origin(config: dict[str, Any], behavior: dict[str, Any]) -> dict[str, Any]:
    (found,) = [o for o in config["Origins"] if o["Id"] == behavior["TargetOriginId"]]
    return dict(found)


# -- IAM -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", sorted(INGEST_ROLES))
def test_ingest_roles_are_exactly_the_least_privilege_set(template: Template, role: str) -> None:
    assert_exactly_granted(template, role, INGEST_ROLES[role])


@pytest.mark.parametrize("role", sorted(set(INGEST_ROLES) - {"Ingest/RawStreamRole"}))
def test_ingest_roles_are_assumed_by_lambda_only(template: Template, role: str) -> None:
    assert principals(template, role) == [{"Service": "lambda.amazonaws.com"}]


def test_the_raw_stream_role_is_assumed_by_firehose_of_this_account_only(template: Template) -> None:
    statement = template.one("AWS::IAM::Role", "Ingest/RawStreamRole")["Properties"][
        "AssumeRolePolicyDocument"
    ]
    [only] = statement["Statement"]
    assert only["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert template.resolve(only["Condition"]) == {"StringEquals": {"aws:SourceAccount": "${AWS::AccountId}"}}


# -- the raw/ stream -------------------------------------------------------------------------------
def test_the_raw_stream_writes_gzipped_ndjson_by_receive_hour_into_raw(template: Template) -> None:
    stream = props(template, "AWS::KinesisFirehose::DeliveryStream", "Ingest/RawStream")
    assert stream["DeliveryStreamType"] == "DirectPut"
    assert stream["DeliveryStreamEncryptionConfigurationInput"] == {"KeyType": "AWS_OWNED_CMK"}
    s3 = stream["ExtendedS3DestinationConfiguration"]
    assert s3["BucketARN"] == LAKE
    assert s3["RoleARN"] == "<Ingest/RawStreamRole.Arn>"
    assert s3["Prefix"] == (
        "raw/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
    )
    assert s3["ErrorOutputPrefix"].startswith("firehose-errors/")
    assert (s3["CompressionFormat"], s3["FileExtension"]) == ("GZIP", ".ndjson.gz")
    assert s3["BufferingHints"] == {"IntervalInSeconds": 60, "SizeInMBs": 64}
    assert s3["CloudWatchLoggingOptions"]["Enabled"] is True
    env = props(template, "AWS::Lambda::Function", "Ingest/Function")["Environment"]["Variables"]
    assert env["INGEST_STREAM_NAME"] == "<Ingest/RawStream>"


def test_the_storefront_deployment_provider_runs_with_that_role(template: Template) -> None:
    (provider,) = [
        resource["Properties"]
        for path, resource in template.of_type("AWS::Lambda::Function").items()
        if path.startswith("Custom::CDKBucketDeployment")
    ]
    assert template.text(provider["Role"]) == "<Ingest/StorefrontDeploymentRole.Arn>"
    assert template.text(provider["LoggingConfig"]["LogGroup"]) == "<Ingest/StorefrontDeploymentLogs>"


# -- the function --------------------------------------------------------------------------------
def test_ingest_function_is_python_312_arm64_untraced_on_the_shared_layer(template: Template) -> None:
    function = props(template, "AWS::Lambda::Function", "Ingest/Function")
    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == "handler.handler"
    assert function["Layers"] == ["<Pipeline/Shared>"]
    assert "TracingConfig" not in function  # X-Ray per request would cost more than the function
    assert function["MemorySize"] == c.INGEST_MEMORY_MB and function["Timeout"] == c.INGEST_TIMEOUT_S
    # JSON, without Lambda's START/END/REPORT lines per request (docs/COST.md, ingest logs)
    assert function["LoggingConfig"] == {
        "LogGroup": "<Ingest/FunctionLogs>",
        "LogFormat": "JSON",
        "SystemLogLevel": "WARN",
    }
    assert "VpcConfig" not in function
    group = template.one("AWS::Logs::LogGroup", "Ingest/FunctionLogs")["Properties"]
    assert group["RetentionInDays"] == c.LOG_RETENTION_DAYS


def test_ingest_function_gets_the_settings_it_reads(template: Template) -> None:
    env = props(template, "AWS::Lambda::Function", "Ingest/Function")["Environment"]["Variables"]
    assert env["LAKE_BUCKET"] == "<Storage/Lake>"
    assert env["INGEST_DLQ_URL"] == "<Ingest/DeadLetters>"
    # transform's key (a deploy-time dynamic reference): a user_id hashed at ingest is kept there
    assert env["USER_ID_HMAC_KEY"] == "{{resolve:secretsmanager:<Pipeline/UserIdHmacKey>:SecretString:::}}"
    assert env["RUNTIME"] == "aws"
    assert env["POWERTOOLS_SERVICE_NAME"] == c.SERVICE_NAME
    # and these are the names IngestSettings reads
    fields = set(IngestSettings.model_fields)
    assert {"lake_bucket", "ingest_dlq_url", "user_id_hmac_key", "runtime"} <= fields


# -- the HTTP API --------------------------------------------------------------------------------
def test_the_api_has_one_anonymous_route_post_v1_events_to_the_function(template: Template) -> None:
    routes = template.of_type("AWS::ApiGatewayV2::Route")
    assert [template.resolve(r["Properties"])["RouteKey"] for r in routes.values()] == [
        f"POST {c.EVENTS_ROUTE}"
    ]
    (route,) = [template.resolve(r["Properties"]) for r in routes.values()]
    assert route["AuthorizationType"] == "NONE"
    (integration,) = [
        template.resolve(i["Properties"]) for i in template.of_type("AWS::ApiGatewayV2::Integration").values()
    ]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["IntegrationUri"] == "<Ingest/Function.Arn>"
    assert integration["PayloadFormatVersion"] == "2.0"
    (permission,) = [
        template.resolve(p["Properties"])
        for path, p in template.of_type("AWS::Lambda::Permission").items()
        if path.startswith("Ingest/")
    ]
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["SourceArn"].endswith(f":<Ingest/Api>/*/*{c.EVENTS_ROUTE}")


SHOPS = ("https://shop.example.com", "https://www.shop.example.com")


@pytest.fixture(scope="module")
def cors_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """A shop on its own domains: -c clickstream:allowedOrigins=https://shop.example.com,https://www..."""
    return synthesize(tmp_path_factory.mktemp("cdk-cors"), **{c.ALLOWED_ORIGINS_CONTEXT: ",".join(SHOPS)})


def test_by_default_the_api_answers_no_cors_at_all(template: Template) -> None:
    api = props(template, "AWS::ApiGatewayV2::Api", "Ingest/Api")
    assert "CorsConfiguration" not in api


def test_the_api_answers_cors_for_the_allowed_origins_only_and_never_with_credentials(
    template: Template, cors_synth: Synth
) -> None:
    api = props(cors_synth.template, "AWS::ApiGatewayV2::Api", "Ingest/Api")
    assert api["CorsConfiguration"] == {
        "AllowOrigins": list(SHOPS),  # exact origins: API Gateway answers the preflight of these only
        "AllowMethods": ["POST"],
        "AllowHeaders": ["content-type"],
        "AllowCredentials": False,
        "MaxAge": 3600,
    }
    # the preflight is API Gateway's own answer: no OPTIONS route, no other change to the stack
    routes = cors_synth.template.of_type("AWS::ApiGatewayV2::Route")
    assert [cors_synth.template.resolve(r["Properties"])["RouteKey"] for r in routes.values()] == [
        f"POST {c.EVENTS_ROUTE}"
    ]
    changed = {
        path
        for path in template.resources
        if template.resources[path] != cors_synth.template.resources.get(path)
    }
    assert changed == {template.logical_id("Ingest/Api")}
    assert nag_findings(cors_synth) == []
    assert cfn_lint_findings(cors_synth) == []


def test_allowed_origins_may_be_a_list_in_cdk_json(tmp_path: Path) -> None:
    synth = synthesize(tmp_path, **{c.ALLOWED_ORIGINS_CONTEXT: list(SHOPS)})  # type: ignore[arg-type]
    api = props(synth.template, "AWS::ApiGatewayV2::Api", "Ingest/Api")
    assert api["CorsConfiguration"]["AllowOrigins"] == list(SHOPS)


@pytest.mark.parametrize(
    ("value", "says"),
    [("*", "wildcards"), ("https://*.example.com", "wildcards"), ("https://shop.example.com/", "no path")],
)
def test_anything_but_exact_origins_is_refused_at_synth(tmp_path: Path, value: str, says: str) -> None:
    with pytest.raises(ValueError, match=rf"-c clickstream:allowedOrigins=.*{says}"):
        synthesize(tmp_path, **{c.ALLOWED_ORIGINS_CONTEXT: value})


def test_the_api_stage_is_throttled_and_access_logged_without_client_addresses(template: Template) -> None:
    stage = props(template, "AWS::ApiGatewayV2::Stage", "Ingest/ApiStage")
    assert stage["StageName"] == "$default" and stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": c.API_THROTTLE_BURST,
        "ThrottlingRateLimit": c.API_THROTTLE_RATE_RPS,
    }
    logs_ = stage["AccessLogSettings"]
    assert logs_["DestinationArn"] == "<Ingest/ApiAccessLogs.Arn>"
    fields = json.loads(logs_["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert not any("sourceIp" in v or "userAgent" in v for v in fields.values())
    group = template.one("AWS::Logs::LogGroup", "Ingest/ApiAccessLogs")["Properties"]
    assert group["RetentionInDays"] == c.LOG_RETENTION_DAYS


# -- CloudFront ------------------------------------------------------------------------------------
def test_storefront_is_served_from_the_private_bucket_through_origin_access_control(
    template: Template,
) -> None:
    config = distribution(template)
    default = config["DefaultCacheBehavior"]
    s3_origin = origin(config, default)
    assert s3_origin["DomainName"] == "<Ingest/Storefront.RegionalDomainName>"
    assert s3_origin["OriginAccessControlId"] == "<Ingest/Cdn/Origin1/S3OriginAccessControl.Id>"
    assert s3_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["AllowedMethods"] == ["GET", "HEAD"]
    assert default["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"  # CachingOptimized
    assert config["DefaultRootObject"] == "index.html"
    oac = props(template, "AWS::CloudFront::OriginAccessControl", "Ingest/Cdn/Origin1/S3OriginAccessControl")
    assert oac["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    assert oac["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "s3"


def test_storefront_bucket_is_private_encrypted_tls_only_and_readable_by_this_distribution_only(
    template: Template,
) -> None:
    bucket = props(template, "AWS::S3::Bucket", "Ingest/Storefront")
    assert bucket["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    statements = bucket_policy(template, "Ingest/Storefront")
    assert denies_plain_http(statements)
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Action": "s3:GetObject",
            "Condition": {"StringEquals": {"AWS:SourceArn": DISTRIBUTION_ARN}},
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Resource": f"{SITE}/*",
        }
    ]


def test_v1_goes_to_the_http_api_uncached_with_the_viewer_country(template: Template) -> None:
    config = distribution(template)
    (api,) = config["CacheBehaviors"]
    assert api["PathPattern"] == c.API_PATH_PATTERN == "/v1/*"
    assert c.EVENTS_ROUTE.startswith(c.API_PATH_PATTERN.removesuffix("*"))
    assert api["ViewerProtocolPolicy"] == "https-only"  # a redirected POST would lose its body
    assert "POST" in api["AllowedMethods"]
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    assert api["OriginRequestPolicyId"] == "<Ingest/ApiRequests>"
    api_origin = origin(config, api)
    assert api_origin["DomainName"] == "<Ingest/Api>.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    assert api_origin["CustomOriginConfig"] == {
        "OriginProtocolPolicy": "https-only",
        "OriginSSLProtocols": ["TLSv1.2"],
    }
    policy = props(template, "AWS::CloudFront::OriginRequestPolicy", "Ingest/ApiRequests")
    policy = policy["OriginRequestPolicyConfig"]
    # Never the Host header: API Gateway answers only to its own host name. The last three are what
    # API Gateway's CORS answer reads (a shop on its own domain); the function reads none of them.
    assert policy["HeadersConfig"] == {
        "HeaderBehavior": "whitelist",
        "Headers": [
            "User-Agent",
            "Content-Type",
            "CloudFront-Viewer-Country",
            "Origin",
            "Access-Control-Request-Method",
            "Access-Control-Request-Headers",
        ],
    }
    assert policy["CookiesConfig"] == {"CookieBehavior": "none"}
    assert policy["QueryStringsConfig"] == {"QueryStringBehavior": "none"}


def test_distribution_logs_to_its_own_bucket_and_is_protected_by_the_web_acl(template: Template) -> None:
    config = distribution(template)
    assert config["Logging"] == {"Bucket": "<Ingest/CdnLogs.RegionalDomainName>", "Prefix": "cloudfront/"}
    assert "WebACLId" not in config  # WAF is opt-in
    assert config["PriceClass"] == "PriceClass_100"
    cdn_logs = template.resources[template.logical_id("Ingest/CdnLogs")]
    assert cdn_logs["Properties"]["PublicAccessBlockConfiguration"] == BLOCK_ALL
    # CloudFront's standard logs are delivered with an ACL grant: ACLs enabled, bucket owner owns
    assert cdn_logs["Properties"]["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]
    }
    assert cdn_logs["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90
    assert cdn_logs["DeletionPolicy"] == "Retain"
    assert denies_plain_http(bucket_policy(template, "Ingest/CdnLogs"))


# -- WAF -------------------------------------------------------------------------------------------
def test_web_acl_rate_limits_each_ip_then_applies_the_aws_managed_rules(waf_synth: Synth) -> None:
    template = waf_synth.template
    assert distribution(template)["WebACLId"] == "<Ingest/WebAcl.Arn>"
    acl = props(template, "AWS::WAFv2::WebACL", "Ingest/WebAcl")
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["DefaultAction"] == {"Allow": {}}
    rules = sorted(acl["Rules"], key=lambda r: r["Priority"])
    rate, *managed = rules
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"] == {
        "RateBasedStatement": {
            "AggregateKeyType": "IP",
            "EvaluationWindowSec": c.WAF_RATE_WINDOW_S,
            "Limit": c.WAF_RATE_LIMIT_PER_IP,
        }
    }
    groups = [r["Statement"]["ManagedRuleGroupStatement"] for r in managed]
    assert [(g["VendorName"], g["Name"]) for g in groups] == [
        ("AWS", "AWSManagedRulesAmazonIpReputationList"),
        ("AWS", "AWSManagedRulesCommonRuleSet"),
        ("AWS", "AWSManagedRulesKnownBadInputsRuleSet"),
    ]
    assert all(r["OverrideAction"] == {"None": {}} for r in managed)  # the groups' own actions block
    # Only the 8 KB body-size rule counts instead of blocking: a batch of 20 events is bigger.
    overrides = {g["Name"]: g.get("RuleActionOverrides") for g in groups}
    assert overrides == {
        "AWSManagedRulesAmazonIpReputationList": None,
        "AWSManagedRulesCommonRuleSet": [{"ActionToUse": {"Count": {}}, "Name": "SizeRestrictions_BODY"}],
        "AWSManagedRulesKnownBadInputsRuleSet": None,
    }
    assert all(r["VisibilityConfig"]["CloudWatchMetricsEnabled"] for r in rules)


def test_waf_in_another_region_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"us-east-1.*-c ingest_waf=off"):
        synthesize(tmp_path, **{c.REGION_CONTEXT: OTHER_REGION, c.INGEST_WAF_CONTEXT: "on"})


def test_waf_context_takes_on_or_off_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="on or off"):
        synthesize(tmp_path, **{c.INGEST_WAF_CONTEXT: "no"})


def test_waf_on_adds_the_web_acl_and_nothing_else(template: Template, waf_synth: Synth) -> None:
    assert template.of_type("AWS::WAFv2::WebACL") == {}
    other = waf_synth.template
    ingest = {p for p in template.resources if template.path(p).startswith("Ingest/")}
    other_ingest = {p for p in other.resources if other.path(p).startswith("Ingest/")}
    assert other_ingest - ingest == {other.logical_id("Ingest/WebAcl")}
    assert ingest - other_ingest == set()
    assert nag_findings(waf_synth) == []
    assert cfn_lint_findings(waf_synth) == []


def test_without_waf_another_region_deploys_and_cdk_nag_and_cfn_lint_pass(no_waf_synth: Synth) -> None:
    assert no_waf_synth.template.of_type("AWS::WAFv2::WebACL") == {}
    assert nag_findings(no_waf_synth) == []
    assert cfn_lint_findings(no_waf_synth, OTHER_REGION) == []


# -- the dead-letter queue and the alarms -----------------------------------------------------------
def test_dead_letter_queue_is_encrypted_tls_only_and_keeps_messages_14_days(template: Template) -> None:
    queue = props(template, "AWS::SQS::Queue", "Ingest/DeadLetters")
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    (policy,) = [
        template.resolve(p["Properties"])
        for p in template.of_type("AWS::SQS::QueuePolicy").values()
        if template.resolve(p["Properties"])["Queues"] == ["<Ingest/DeadLetters>"]
    ]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Action": "sqs:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": "<Ingest/DeadLetters.Arn>",
        }
    ]


def test_a_dead_lettered_batch_or_a_function_error_alerts_the_topic(template: Template) -> None:
    alarms = {
        path: template.resolve(a["Properties"])
        for path, a in template.of_type("AWS::CloudWatch::Alarm").items()
        if path.startswith("Ingest/")
    }
    assert set(alarms) == {"Ingest/DeadLetterDepth", "Ingest/FunctionErrors"}
    depth = alarms["Ingest/DeadLetterDepth"]
    assert (depth["Namespace"], depth["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert depth["Dimensions"] == [{"Name": "QueueName", "Value": "<Ingest/DeadLetters.QueueName>"}]
    errors = alarms["Ingest/FunctionErrors"]
    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/Lambda", "Errors")
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": "<Ingest/Function>"}]
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == ["<Pipeline/Alerts>"]
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"


# -- shoppers ----------------------------------------------------------------------------------------
def test_shoppers_sign_up_themselves_and_the_browser_client_has_no_secret(template: Template) -> None:
    pool = template.resources[template.logical_id("Ingest/Shoppers")]
    p = pool["Properties"]
    assert p["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    assert p["UsernameAttributes"] == ["email"]
    assert p["MfaConfiguration"] == "OPTIONAL" and p["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert p["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 8,
        "RequireLowercase": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "RequireUppercase": True,
    }
    assert p["UserPoolTier"] == "LITE"
    assert pool["DeletionPolicy"] == "Retain"
    client = props(template, "AWS::Cognito::UserPoolClient", "Ingest/Shoppers/Storefront")
    assert client["UserPoolId"] == "<Ingest/Shoppers>"
    assert client["GenerateSecret"] is False
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is False


# -- the storefront's files -----------------------------------------------------------------------------
def test_the_storefront_and_the_committed_tracker_are_deployed_to_the_bucket(default_synth: Synth) -> None:
    # Given the deployment's source asset, as staged in the cloud assembly
    template = default_synth.template
    deployment = props(template, "Custom::CDKBucketDeployment", "Ingest/StorefrontFiles/CustomResource")
    (key,) = deployment["SourceObjectKeys"]
    staged = default_synth.outdir / f"asset.{key.removesuffix('.zip')}"
    # Then it is sdk/storefront at the root plus the tracker where the pages load it from
    expected = [*(p.name for p in c.STOREFRONT_DIR.iterdir() if p.is_file()), c.TRACKER_KEY]
    found = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert found == sorted(expected)
    assert filecmp.cmp(staged / c.TRACKER_KEY, c.TRACKER_BUNDLE, shallow=False)
    for page in c.STOREFRONT_DIR.glob("*.html"):
        assert f'src="/{c.TRACKER_KEY}"' in page.read_text(), page.name
    # synced with pruning, cached five minutes, emptied when the stack is deleted
    assert deployment["DestinationBucketName"] == "<Ingest/Storefront>"
    assert deployment["Prune"] is True and deployment["RetainOnDelete"] is False
    assert deployment["SystemMetadata"] == {"cache-control": f"public, max-age={c.STOREFRONT_MAX_AGE_S}"}
    assert "DistributionId" not in deployment


def test_the_tracker_posts_to_the_route_by_default() -> None:
    source = (c.REPO_ROOT / "sdk" / "src" / "tracker.ts").read_text()
    assert f"config.endpoint || '{c.EVENTS_ROUTE}'" in source


def test_outputs_name_the_storefront_url_the_endpoint_and_the_user_pool(template: Template) -> None:
    outputs = {k: template.text(v["Value"]) for k, v in template.body["Outputs"].items()}
    assert outputs["StorefrontUrl"] == "https://<Ingest/Cdn.DomainName>"
    assert outputs["IngestEndpoint"] == f"https://<Ingest/Cdn.DomainName>{c.EVENTS_ROUTE}"
    assert outputs["ShoppersUserPoolId"] == "<Ingest/Shoppers>"
    assert outputs["ShoppersUserPoolClientId"] == "<Ingest/Shoppers/Storefront>"
    assert outputs["IngestDeadLetterQueueUrl"] == "<Ingest/DeadLetters>"
