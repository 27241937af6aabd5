"""The least-privilege grants the infra tests hold roles to, and how they compare them.

A grant is (action, resource, condition), resources written as the template
reader renders them (tests/support/template.py).
"""

from __future__ import annotations

from typing import Any

from tests.support.template import Template

LAKE = "<Storage/Lake.Arn>"
ASSETS_BUCKET = "arn:aws:s3:::cdk-hnb659fds-assets-${AWS::AccountId}-us-east-1"
SITE = "<Ingest/Storefront.Arn>"

Grants = set[tuple[str, str, str]]


def assert_exactly_granted(template: Template, role: str, expected: Grants) -> None:
    """The role is granted exactly ``expected``: nothing more, nothing missing."""
    granted = template.role_permissions(role)
    assert granted - expected == set(), f"{role} has more than it needs"
    assert expected - granted == set(), f"{role} lacks"


def principals(template: Template, role: str) -> list[Any]:
    """Who may assume the role, one entry per statement of its trust policy."""
    statements = template.one("AWS::IAM::Role", role)["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return [s["Principal"] for s in statements]


def ingest_logs(group: str) -> Grants:
    arn = f"<Ingest/{group}.Arn>"
    return {("logs:CreateLogStream", arn, ""), ("logs:PutLogEvents", arn, "")}


def on_bucket_and_objects(actions: list[str], bucket: str) -> Grants:
    return {(action, resource, "") for action in actions for resource in (bucket, f"{bucket}/*")}


# test_ingest.py compares these grants; test_iam.py's list of the stack's roles includes them.
INGEST_ROLES: dict[str, Grants] = {
    # The ingest function: put records into the raw/ stream, send what it refuses to the DLQ.
    # Nothing else: no access to the lake at all, no wildcard resource (not traced).
    "Ingest/FunctionRole": {
        ("firehose:PutRecordBatch", "<Ingest/RawStream.Arn>", ""),
        ("sqs:SendMessage", "<Ingest/DeadLetters.Arn>", ""),
    }
    | ingest_logs("FunctionLogs"),
    # Firehose's raw/ stream: put (and abort uploads of) objects under raw/ and its error prefix,
    # locate the bucket, and log its delivery errors. No read, no delete, no other prefix.
    "Ingest/RawStreamRole": {
        ("s3:PutObject", f"{LAKE}/raw/*", ""),
        ("s3:AbortMultipartUpload", f"{LAKE}/raw/*", ""),
        ("s3:PutObject", f"{LAKE}/firehose-errors/*", ""),
        ("s3:AbortMultipartUpload", f"{LAKE}/firehose-errors/*", ""),
        ("s3:GetBucketLocation", LAKE, ""),
        ("s3:ListBucketMultipartUploads", LAKE, ""),
        ("logs:PutLogEvents", "<Ingest/RawStreamLogs.Arn>", ""),
    },
    # CDK's BucketDeployment (at deploy time only): read the storefront asset, sync it into the
    # storefront bucket. These are the grants BucketDeployment makes; no CloudFront invalidation.
    "Ingest/StorefrontDeploymentRole": on_bucket_and_objects(
        ["s3:GetObject*", "s3:GetBucket*", "s3:List*"], ASSETS_BUCKET
    )
    | on_bucket_and_objects(
        [
            "s3:GetObject*",
            "s3:GetBucket*",
            "s3:List*",
            "s3:DeleteObject*",
            "s3:PutObject",
            "s3:PutObjectLegalHold",
            "s3:PutObjectRetention",
            "s3:PutObjectTagging",
            "s3:PutObjectVersionTagging",
            "s3:Abort*",
        ],
        SITE,
    )
    | ingest_logs("StorefrontDeploymentLogs"),
}
