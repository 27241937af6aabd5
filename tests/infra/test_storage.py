"""Storage: the lake bucket and its access-log bucket."""

from __future__ import annotations

from tests.support.cdk import BLOCK_ALL, bucket_policy, denies_plain_http
from tests.support.template import Template


def test_lake_is_encrypted_private_tls_only_and_retained(template: Template) -> None:
    lake = template.resources[template.logical_id("Storage/Lake")]
    props = lake["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert lake["DeletionPolicy"] == "Retain" and lake["UpdateReplacePolicy"] == "Retain"
    assert denies_plain_http(bucket_policy(template, "Storage/Lake"))


def test_lake_lifecycle_raw_to_ia_at_30_glacier_at_365_staged_expires_after_7(template: Template) -> None:
    props = template.one("AWS::S3::Bucket", "Storage/Lake")["Properties"]
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["raw-to-cold-storage"] == {
        "Id": "raw-to-cold-storage",
        "Prefix": "raw/",
        "Status": "Enabled",
        "Transitions": [
            {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
            {"StorageClass": "GLACIER", "TransitionInDays": 365},
        ],
    }
    assert rules["expire-staged"] == {
        "Id": "expire-staged",
        "Prefix": "staged/",
        "Status": "Enabled",
        "ExpirationInDays": 7,
    }
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    # small objects are never moved to a class that bills them as 128 KB
    assert props["LifecycleConfiguration"]["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"


def test_lake_access_logs_go_to_the_log_bucket(template: Template) -> None:
    props = template.one("AWS::S3::Bucket", "Storage/Lake")["Properties"]
    assert template.resolve(props["LoggingConfiguration"]) == {
        "DestinationBucketName": "<Storage/Logs>",
        "LogFilePrefix": "s3-access/lake/",
    }
    # delivered under the bucket policy (no ACLs), from this account's lake only
    (logging,) = [
        s
        for s in bucket_policy(template, "Storage/Logs")
        if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert logging["Action"] == "s3:PutObject"
    assert logging["Condition"]["ArnLike"] == {"aws:SourceArn": "<Storage/Lake.Arn>"}


def test_log_bucket_is_encrypted_private_tls_only_expiring(template: Template) -> None:
    logs = template.resources[template.logical_id("Storage/Logs")]
    props = logs["Properties"]
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90
    assert logs["DeletionPolicy"] == "Retain"
    assert denies_plain_http(bucket_policy(template, "Storage/Logs"))
