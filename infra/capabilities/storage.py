"""Storage: the lake bucket (raw/, rejects/, staged/) and the bucket its access logs go to."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants as c
from infra.nag import acknowledge


def log_bucket(
    scope: Construct, construct_id: str, object_ownership: s3.ObjectOwnership, unlogged: str
) -> s3.Bucket:
    """A bucket that logs are delivered to (delivery needs SSE-S3): private, TLS only, its objects
    expiring after ACCESS_LOG_EXPIRY_DAYS, kept when the stack goes. It has no access logs of its
    own; ``unlogged`` tells cdk-nag why."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        object_ownership=object_ownership,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="expire-logs",
                expiration=Duration.days(c.ACCESS_LOG_EXPIRY_DAYS),
                abort_incomplete_multipart_upload_after=Duration.days(c.INCOMPLETE_UPLOAD_DAYS),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
    acknowledge(bucket, "AwsSolutions-S1", unlogged)
    return bucket


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)

        # Server access logs of the lake, VPC flow logs and (when enabled) the
        # dashboards' load balancer logs. Log delivery needs SSE-S3.
        self.logs = log_bucket(
            self,
            "Logs",
            s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            "This is the access-log bucket itself; logging it into itself would log its own log writes.",
        )

        self.lake = s3.Bucket(
            self,
            "Lake",
            encryption=s3.BucketEncryption.S3_MANAGED,  # no KMS request charges on every hourly read
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs,
            server_access_logs_prefix="s3-access/lake/",
            # Objects under 128 KB stay in Standard: IA and Glacier would bill them as bigger.
            transition_default_minimum_object_size=s3.TransitionDefaultMinimumObjectSize.ALL_STORAGE_CLASSES_128_K,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="raw-to-cold-storage",
                    prefix=c.RAW_PREFIX,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(c.RAW_TO_INFREQUENT_ACCESS_DAYS),
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=Duration.days(c.RAW_TO_GLACIER_DAYS),
                        ),
                    ],
                ),
                s3.LifecycleRule(
                    id="expire-staged",
                    prefix=c.STAGED_PREFIX,
                    expiration=Duration.days(c.STAGED_EXPIRY_DAYS),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(c.INCOMPLETE_UPLOAD_DAYS),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,  # the raw events are the source of truth
        )
