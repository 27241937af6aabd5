"""S3 access for the whole package: the only module that talks to S3.

Logic modules take bytes and return bytes; handlers hand them a ``Lake``.
boto3 reads ``AWS_ENDPOINT_URL`` itself, so the same code reaches moto locally
and S3 on AWS. Throttles, 5xx and connection errors become
``TransientStorageError`` (retried by the state machine); a missing key is
``StagedDataMissing`` where the caller asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import orjson
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from clickstream.core.errors import StagedDataMissing, TransientStorageError

_TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
}
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    etag: str
    size: int

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "etag": self.etag, "size": self.size}


def s3_client(region: str | None = None) -> Any:
    config = Config(retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=32)
    return boto3.client("s3", region_name=region, config=config)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Lake:
    """One bucket of the lake (raw/, rejects/, staged/)."""

    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self.client = client if client is not None else s3_client()

    def _call(self, operation: str, key: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = _error_code(exc)
            if code in _MISSING_CODES:
                raise StagedDataMissing(f"s3://{self.bucket}/{key} does not exist") from exc
            if code in _TRANSIENT_CODES:
                raise TransientStorageError(f"{operation} s3://{self.bucket}/{key}: {code}") from exc
            raise
        except (BotoConnectionError, BotoCoreError) as exc:
            raise TransientStorageError(f"{operation} s3://{self.bucket}/{key}: {exc}") from exc

    def get_bytes(self, key: str) -> bytes:
        response = self._call("get_object", key, Key=key)
        try:
            return bytes(response["Body"].read())
        except (BotoConnectionError, BotoCoreError) as exc:
            raise TransientStorageError(f"reading s3://{self.bucket}/{key}: {exc}") from exc

    def open(self, key: str) -> Any:
        """A streaming body (``.read(n)``) of the object, for data too large to hold twice."""
        return self._call("get_object", key, Key=key)["Body"]

    def get_json(self, key: str) -> Any:
        return orjson.loads(self.get_bytes(key))

    def put_bytes(
        self, key: str, body: bytes | bytearray, content_type: str = "application/octet-stream"
    ) -> str:
        """Write an object; returns its ETag (without quotes)."""
        response = self._call("put_object", key, Key=key, Body=body, ContentType=content_type)
        return str(response.get("ETag", "")).strip('"')

    def put_json(self, key: str, value: Any) -> str:
        return self.put_bytes(key, orjson.dumps(value), "application/json")

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", key, Key=key)
        except StagedDataMissing:
            return False
        except ClientError as exc:
            if _error_code(exc) in {"403", "404"}:
                return False
            raise
        return True

    def list(self, prefix: str, start_after: str = "") -> Iterator[ObjectInfo]:
        """Every object under prefix, in key order."""
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            elif start_after:
                kwargs["StartAfter"] = start_after
            page = self._call("list_objects_v2", prefix, **kwargs)
            for item in page.get("Contents", []):
                yield ObjectInfo(item["Key"], str(item["ETag"]).strip('"'), int(item["Size"]))
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def delete_prefix(self, prefix: str) -> int:
        keys = [o.key for o in self.list(prefix)]
        for i in range(0, len(keys), 1000):
            chunk = keys[i : i + 1000]
            self._call("delete_objects", prefix, Delete={"Objects": [{"Key": k} for k in chunk]})
        return len(keys)
