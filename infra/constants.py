"""Every name and number the AWS stack uses, in one place.

Names the handlers read (environment variables) come from clickstream's
settings; lake prefixes come from clickstream.core.lake, so nothing is defined twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clickstream.core import lake, limits, migrate, origins
from clickstream.pipeline import ingest

REPO_ROOT = Path(__file__).resolve().parent.parent
INFRA_DIR = REPO_ROOT / "infra"
PACKAGE_DIR = REPO_ROOT / "clickstream"
FUNCTIONS_DIR = REPO_ROOT / "functions"
SQL_DIR = REPO_ROOT / "sql"
# What the Lambda layer ships of the package: the parts that run on Lambda (the pipeline's steps,
# what they share, and ops/ for StartHour), never the local runtime, the command line or the tools.
LAMBDA_PACKAGES = ("core", "pipeline", "ops")
SHINY_DIR = REPO_ROOT / "shiny"
HOST_SCRIPTS_DIR = INFRA_DIR / "host"
START_HOUR_DIR = FUNCTIONS_DIR / "start_hour"

STACK_ID = "Clickstream"
PROJECT_TAG = ("project", "clickstream")

# -- context (cdk -c key=value) and parameters (cdk deploy --parameters) -----
BUNDLING_CONTEXT = "clickstream:bundling"  # "full" (default) or "source" (tests)
BUNDLING_FULL = "full"
BUNDLING_SOURCE = "source"
REGION_CONTEXT = "region"  # default: $CDK_DEFAULT_REGION, else us-east-1
DEFAULT_REGION = "us-east-1"
DASHBOARD_DOMAIN_CONTEXT = "dashboard_domain"  # e.g. dashboards.example.com
DASHBOARD_CERTIFICATE_CONTEXT = "dashboard_certificate_arn"  # ACM, same region
DASHBOARD_AUTH_PREFIX_CONTEXT = "dashboard_auth_domain_prefix"  # Cognito hosted UI prefix
WAREHOUSE_INSTANCE_TYPE_CONTEXT = "warehouse_instance_type"
WAREHOUSE_VOLUME_GB_CONTEXT = "warehouse_volume_gb"  # set at the first deploy only (see DEPLOY.md)
# How the host reaches Session Manager: "public-ip" (default: a public IPv4 address, no inbound
# rule, $3.65 a month) or "endpoints" (an isolated subnet and the ssm + ssmmessages interface
# endpoints, $14.60 a month). docs/COST.md weighs the two.
WAREHOUSE_ACCESS_CONTEXT = "warehouse_access"
WAREHOUSE_ACCESS_PUBLIC_IP = "public-ip"
WAREHOUSE_ACCESS_ENDPOINTS = "endpoints"
WAREHOUSE_ACCESS_MODES = (WAREHOUSE_ACCESS_PUBLIC_IP, WAREHOUSE_ACCESS_ENDPOINTS)
WAREHOUSE_ACCESS_DEFAULT = WAREHOUSE_ACCESS_PUBLIC_IP
PIPELINE_PASSWORD_VERSION_CONTEXT = "pipeline_password_version"  # after a manual rotation
# Origins whose pages may post events (CORS), e.g. -c clickstream:allowedOrigins=https://shop.example.com
# (several: separated by commas; or a list in cdk.json). Exact origins only; none by default.
ALLOWED_ORIGINS_CONTEXT = "clickstream:allowedOrigins"
ALERT_EMAIL_PARAMETER = "AlertEmail"
# Business alerts (docs/DESIGN.md): -c clickstream:businessAlertThreshold=0.25 (a share of the
# same weekday's baseline), -c clickstream:businessAlerts=off to send none. The load function's
# BUSINESS_ALERT_THRESHOLD and BUSINESS_ALERTS; the defaults are clickstream.core.settings'.
BUSINESS_ALERT_THRESHOLD_CONTEXT = "clickstream:businessAlertThreshold"
BUSINESS_ALERTS_CONTEXT = "clickstream:businessAlerts"
BUSINESS_ALERT_THRESHOLD = 0.3

# -- storage -------------------------------------------------------------------
RAW_PREFIX = lake.RAW  # "raw/"
REJECTS_PREFIX = lake.REJECTS  # "rejects/"
STAGED_PREFIX = lake.STAGED  # "staged/"
RAW_TO_INFREQUENT_ACCESS_DAYS = 30
RAW_TO_GLACIER_DAYS = 365
STAGED_EXPIRY_DAYS = 7
ACCESS_LOG_EXPIRY_DAYS = 90
INCOMPLETE_UPLOAD_DAYS = 7
# Object-key patterns the functions' IAM policies are written in (S3 "*" spans "/"), as
# clickstream.pipeline.listing and clickstream.pipeline.transform write them:
# raw/year=.../hour=HH/<stream>-1-<time>-<uuid>.ndjson.gz (Firehose) or events-<uuid>.ndjson.gz
RAW_OBJECTS = f"{RAW_PREFIX}*"
RAW_STREAM_ERROR_OBJECTS = f"{ingest.RAW_STREAM_ERROR_PREFIX.split('!', 1)[0]}*"  # firehose-errors/*
REJECT_FILES = f"{REJECTS_PREFIX}*"  # rejects/<partition>/<name>.rejects.ndjson.gz, .quarantined.gz
WORK_FILES = f"{STAGED_PREFIX}*/work/*"  # staged/<execution>/work/00000.json (list_new -> transform)
WORKLIST_FILES = f"{STAGED_PREFIX}*/worklist.json"  # staged/<execution>/worklist.json (list_new -> load)
BATCH_FILES = (
    f"{STAGED_PREFIX}*/batches/*"  # staged/<execution>/batches/00000.tsv.gz, .json (transform -> load)
)
# The pipeline's health snapshot: notify writes it, the dashboards on the host read it (one key).
HEALTH_SNAPSHOT_KEY = lake.HEALTH_SNAPSHOT  # "ops/health.json"

# -- pipeline ------------------------------------------------------------------
LAMBDA_PYTHON = "3.12"
LAMBDA_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")  # arm64, Amazon Linux 2023
SERVICE_NAME = "clickstream"  # clickstream.core.observability.SERVICE
METRICS_NAMESPACE = "Clickstream"  # clickstream.core.observability.metrics
# Powertools Metrics adds the service as a dimension to every metric it emits.
METRICS_DIMENSIONS = {"service": SERVICE_NAME}
FRESHNESS_METRIC = "FreshnessMinutes"  # emitted by AdvanceWatermark
REJECTED_LINES_METRIC = "RejectedLines"
LINES_READ_METRIC = "LinesRead"
MAP_MAX_CONCURRENCY = 10  # TransformPartitions' parallel Lambda invocations
LOOKBACK_HOURS = 2
REJECT_ALERT_RATIO = 0.01  # notices and the reject-rate alarm share it
FRESHNESS_ALARM_MINUTES = 150  # two missed hours plus slack
STATE_MACHINE_SUFFIX = "pipeline"  # the state machine is named <stack>-pipeline
LOG_RETENTION_DAYS = 30
# Fire at minute 0 of every hour (UTC); StartHour runs the hour that just closed.
SCHEDULE_EXPRESSION = "cron(0 * * * ? *)"


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function of the pipeline: functions/<name>/handler.py:handler."""

    name: str
    construct_id: str
    asl_placeholder: str
    memory_mb: int
    timeout_s: int
    in_vpc: bool  # needs the warehouse


LIST_NEW = FunctionSpec("list_new", "ListNew", "ListNewFunctionArn", 512, 120, in_vpc=True)
TRANSFORM = FunctionSpec("transform", "Transform", "TransformFunctionArn", 1024, 300, in_vpc=False)
LOAD = FunctionSpec("load", "Load", "LoadFunctionArn", 1024, 600, in_vpc=True)
NOTIFY = FunctionSpec("notify", "Notify", "NotifyFunctionArn", 256, 30, in_vpc=False)
# The local runtime enforces the same memory and timeouts (clickstream.core.limits): one set of numbers.
for _spec in (LIST_NEW, TRANSFORM, LOAD, NOTIFY):
    if limits.FUNCTION_LIMITS[_spec.name] != limits.FunctionLimits(_spec.memory_mb, _spec.timeout_s):
        raise ValueError(f"{_spec.name}: infra/constants.py and clickstream/core/limits.py disagree")
# What one execution may take (ListNew's MAX_BYTES_PER_EXECUTION): its upsert fits LOAD's timeout.
MAX_BYTES_PER_EXECUTION = limits.MAX_BYTES_PER_EXECUTION
PIPELINE_FUNCTIONS = (LIST_NEW, TRANSFORM, LOAD, NOTIFY)
START_HOUR_MEMORY_MB = 128
START_HOUR_TIMEOUT_S = 30
ALERT_TOPIC_PLACEHOLDER = "AlertTopicArn"
NUMBERS = {"MapMaxConcurrency": MAP_MAX_CONCURRENCY}

# -- warehouse -----------------------------------------------------------------
VPC_CIDR = "10.42.0.0/16"
MAX_AZS = 2  # Lambda ENIs in two AZs; an ALB needs two as well
WAREHOUSE_INSTANCE_TYPE = "t4g.micro"  # 2 vCPU, 1 GiB, Graviton ($6.13 a month; t4g.small: 2 GiB, $12.26)
WAREHOUSE_VOLUME_GB = 20
POSTGRES_MAJOR = 16
DB_NAME = "clickstream"
DB_PORT = 5432
PIPELINE_DB_USER = "pipeline"  # owns the schema; list_new and load log in as this role
DASHBOARD_DB_USER = "dashboard"  # read only, local socket (peer) on the host
# The host applies sql/ with the same bookkeeping as `clickstream db migrate`.
MIGRATIONS_TABLE = migrate.MIGRATIONS_TABLE
MIGRATIONS_LOCK_KEY = migrate.LOCK_KEY
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
SNAPSHOT_TIME_UTC = "03:00"
SNAPSHOT_RETAIN_COUNT = 7
SNAPSHOT_TAG = ("clickstream-snapshot", "daily")

# -- dashboards ----------------------------------------------------------------
HOST_PYTHON = "3.11"  # python3.11 from the Amazon Linux 2023 repositories
HOST_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
DASHBOARD_PORT = 8000

# -- ingest --------------------------------------------------------------------
# The storefront and the ingest API share one CloudFront origin (no CORS): the
# storefront's files at /, the tracker at /sdk/tracker.min.js, the API at /v1/*. A shop's
# pages elsewhere post cross-origin: the API answers CORS for ALLOWED_ORIGINS_CONTEXT only.
STOREFRONT_DIR = REPO_ROOT / "sdk" / "storefront"
TRACKER_BUNDLE = REPO_ROOT / "sdk" / "dist" / "tracker.min.js"
TRACKER_KEY = "sdk/tracker.min.js"  # where the storefront's pages load it from
EVENTS_ROUTE = ingest.EVENTS_PATH  # "/v1/events", what the tracker POSTs to
API_PATH_PATTERN = "/v1/*"
INGEST_FUNCTION = "ingest"  # functions/ingest/handler.py
INGEST_MEMORY_MB = 512
INGEST_TIMEOUT_S = 10  # a request is one PutRecordBatch (or one SQS send); API Gateway waits up to 30 s
# Headers the ingest reads (clickstream.pipeline.ingest.process): the user agent when an event has
# none, and the country CloudFront resolves from the viewer's IP address.
INGEST_FORWARDED_HEADERS = ("User-Agent", "Content-Type", "CloudFront-Viewer-Country")
# And the headers API Gateway's CORS answer depends on (the ingest function reads none of them).
CORS_FORWARDED_HEADERS = ("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")
CORS_ALLOW_METHODS = origins.ALLOW_METHODS  # ("POST",)
CORS_ALLOW_HEADERS = origins.ALLOW_HEADERS  # ("content-type",)
CORS_MAX_AGE_S = origins.MAX_AGE_S
API_THROTTLE_RATE_RPS = 500  # the HTTP API stage: a backstop behind WAF's per-IP rule
API_THROTTLE_BURST = 1000
STOREFRONT_MAX_AGE_S = 300  # Cache-Control of the storefront's files: a deploy shows within 5 min
INGEST_DLQ_RETENTION_DAYS = 14  # SQS maximum; DEPLOY.md says how to replay
# The raw/ Firehose stream (clickstream.pipeline.ingest: the local stack's moto stream uses the same).
RAW_STREAM_PREFIX = ingest.RAW_STREAM_PREFIX  # raw/year=!{timestamp:yyyy}/.../hour=!{timestamp:HH}/
RAW_STREAM_ERROR_PREFIX = ingest.RAW_STREAM_ERROR_PREFIX
RAW_STREAM_EXTENSION = ingest.RAW_STREAM_EXTENSION  # .ndjson.gz
RAW_STREAM_BUFFER_S = ingest.RAW_STREAM_BUFFER_S
RAW_STREAM_BUFFER_MB = ingest.RAW_STREAM_BUFFER_MB
INGEST_WAF_CONTEXT = "ingest_waf"  # "off" (default) or "on"
INGEST_WAF_DEFAULT = "off"
WAF_REGION = "us-east-1"  # a CLOUDFRONT-scope web ACL exists only there
WAF_RATE_LIMIT_PER_IP = 2000  # requests per IP in 5 minutes, pages and event batches together
WAF_RATE_WINDOW_S = 300
# AWS managed rule groups, in evaluation order after the rate rule. SizeRestrictions_BODY
# (bodies over 8 KB) only counts: a batch of 20 events is bigger, and ingest caps bodies itself.
WAF_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
WAF_COUNT_ONLY_RULES = {"AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",)}
