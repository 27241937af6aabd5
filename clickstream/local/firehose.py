"""The raw/ Firehose stream on the local stack: moto's firehose, writing objects as AWS does.

Deployed, ``functions/ingest`` puts each request's lines into an Amazon Data Firehose stream
whose S3 destination writes gzipped NDJSON objects under ``RAW_STREAM_PREFIX`` (the
receive hour, from ``!{timestamp:...}`` namespaces) with the ``.ndjson.gz`` extension
(infra/capabilities/ingest.py). The local stack runs the same ingest code against moto's
firehose (moto 5.2), which has an S3 destination but writes every ``PutRecordBatch`` under
``<prefix>YYYY/MM/DD/HH/`` with the namespaces left as text, uncompressed, without the
extension. ``install()`` makes moto's S3 destination do what Firehose documents instead
(docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html, s3-object-name.html):

- the prefix's ``!{timestamp:<Java DateTimeFormatter>}`` namespaces evaluated at the
  arrival time, UTC, and ``!{firehose:random-string}``;
- the object name ``<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><FileExtension>``;
- the data gzipped when ``CompressionFormat`` is ``GZIP``.

What stays different: moto delivers at once, one object per ``PutRecordBatch`` call, where
Firehose buffers up to ``RAW_STREAM_BUFFER_S`` seconds (several requests per object, the
partition being the receive hour of the object's oldest record). The pipeline reads both
the same way; tests/integration/test_ingest_firehose.py checks it.
"""

from __future__ import annotations

import gzip
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.firehose.models import FirehoseBackend
from moto.s3.models import s3_backends

from clickstream.pipeline.ingest import (
    RAW_STREAM_BUFFER_MB,
    RAW_STREAM_BUFFER_S,
    RAW_STREAM_ERROR_PREFIX,
    RAW_STREAM_EXTENSION,
    RAW_STREAM_PREFIX,
)

RAW_STREAM_NAME = "clickstream-raw"

# Java DateTimeFormatter letters used in prefixes -> strftime.
_JAVA_TIME = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_NAMESPACE = re.compile(r"!\{(timestamp|firehose):([^}]*)\}")


def evaluate_prefix(prefix: str, arrival: datetime) -> str:
    """A Firehose S3 prefix with its timestamp and firehose namespaces evaluated at ``arrival``."""
    arrival = arrival.astimezone(UTC)

    def value(match: re.Match[str]) -> str:
        namespace, expression = match.groups()
        if namespace == "firehose":
            if expression == "random-string":
                return uuid.uuid4().hex[:11]
            if expression == "error-output-type":
                return "delivery-failed"
            raise ValueError(f"unknown firehose namespace value: {expression!r}")
        pattern = re.sub("|".join(_JAVA_TIME), lambda m: _JAVA_TIME[m.group(0)], expression)
        return arrival.strftime(pattern)

    return _NAMESPACE.sub(value, prefix)


def object_key(config: dict[str, Any], stream: str, version: str, arrival: datetime) -> str:
    prefix = evaluate_prefix(config.get("Prefix", ""), arrival)
    extension = config.get("FileExtension", "")
    if not extension and config.get("CompressionFormat") == "GZIP":
        extension = ".gz"
    return f"{prefix}{stream}-{version}-{arrival:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}{extension}"


def install() -> None:
    """Make moto's firehose S3 destinations behave as described above (idempotent, process-wide)."""
    if getattr(FirehoseBackend.put_s3_records, "_clickstream", False):
        return

    def put_s3_records(
        self: FirehoseBackend,
        delivery_stream_name: str,
        version_id: str,
        s3_destination: dict[str, Any],
        records: list[dict[str, bytes]],
    ) -> list[dict[str, str]]:
        bucket_name = s3_destination["BucketARN"].split(":")[-1]
        data = b"".join(r["Data"] for r in records)
        if s3_destination.get("CompressionFormat") == "GZIP":
            data = gzip.compress(data, mtime=0)
        key = object_key(s3_destination, delivery_stream_name, version_id, datetime.now(UTC))
        s3_backends[self.account_id][self.partition].put_object(bucket_name, key, data)
        return [{"RecordId": str(uuid.uuid4())} for _ in records]

    put_s3_records._clickstream = True  # type: ignore[attr-defined]
    FirehoseBackend.put_s3_records = put_s3_records  # type: ignore[method-assign]


def raw_stream_configuration(bucket: str, role_arn: str) -> dict[str, Any]:
    """The ExtendedS3 destination of the raw/ stream, as infra/capabilities/ingest.py deploys it."""
    return {
        "RoleARN": role_arn,
        "BucketARN": f"arn:aws:s3:::{bucket}",
        "Prefix": RAW_STREAM_PREFIX,
        "ErrorOutputPrefix": RAW_STREAM_ERROR_PREFIX,
        "FileExtension": RAW_STREAM_EXTENSION,
        "CompressionFormat": "GZIP",
        "BufferingHints": {"IntervalInSeconds": RAW_STREAM_BUFFER_S, "SizeInMBs": RAW_STREAM_BUFFER_MB},
    }


def create_raw_stream(
    client: Any, bucket: str, name: str = RAW_STREAM_NAME, account: str = "123456789012"
) -> str:
    """Create (or find) the raw/ stream on moto; returns its name."""
    install()
    existing = client.list_delivery_streams().get("DeliveryStreamNames", [])
    if name not in existing:
        client.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration=raw_stream_configuration(
                bucket, f"arn:aws:iam::{account}:role/clickstream-raw-stream"
            ),
        )
    return name
