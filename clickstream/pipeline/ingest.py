"""Ingest (DESIGN.md, "The data flow"): POST /v1/events -> raw/, gzipped NDJSON by receive hour.

``process`` is the pure logic: request body bytes and headers in; status, response body and
the accepted raw lines out. Each event is validated with ``TrackedEvent`` and enriched:

- ``received_at`` is stamped (UTC, ms); a client's own ``received_at`` is overwritten;
- ``geo.country`` comes from the CloudFront-Viewer-Country header when present;
- ``device.type`` is parsed from the user agent (the event's, else the request's) when absent;
- ``user_id`` becomes ``h1:<hex HMAC-SHA256>`` (a value already of that form is kept), and so
  does an ``anonymous_id`` that looks like personal data;
- personal props keys and values are dropped at any depth, and so are personal query
  parameters of ``page_url`` and ``referrer`` (the rules of clickstream.core.pii,
  docs/PRIVACY.md); fields outside the contract are dropped.

``handle_api_event`` wires it to an API Gateway HTTP API (payload v2) event, the raw writer
and the dead-letter queue. The Lambda handler (functions/ingest/handler.py) and the local server
(clickstream/local/ingest_server.py) both call it, so there is one code path.

The raw writer, deployed and locally (``clickstream up``), is ``RawStream``: the request's lines
go to an Amazon Data Firehose stream (``PutRecordBatch``, newline-delimited), which buffers them
and writes one gzipped NDJSON object per buffer to
``raw/year=YYYY/month=MM/day=DD/hour=HH/<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>.ndjson.gz``,
by the receive time of the object's oldest record (``RAW_STREAM_PREFIX``): a few objects a
minute instead of one S3 PUT per request. Given a ``Lake`` instead (no stream configured:
tests, ``DeadLetterQueue.replay``), it writes one ``events-<uuid>.ndjson.gz`` object per request
into the same partitions. ListNew and TransformPartition read both names alike.

An accepted event is never lost: the answer is 202 only once Firehose (or S3) has taken every
line; when the write fails, the lines it did not take go to the dead-letter queue (SQS) and the
client is told 503 with Retry-After, so it retries too (the pipeline removes duplicates).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import boto3
import orjson
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from clickstream.core import pii
from clickstream.core.contract import (
    MAX_LINE_BYTES,
    Device,
    DeviceType,
    Ecom,
    Geo,
    ItemList,
    RawEvent,
    TrackedEvent,
    ts_iso,
)
from clickstream.core.errors import ClickstreamError
from clickstream.core.lake import floor_hour, hour_iso, new_raw_key, parse_hour
from clickstream.core.observability import logger
from clickstream.core.settings import Settings
from clickstream.core.storage import Lake
from clickstream.pipeline.normalize import device_from_user_agent, hash_user_id

EVENTS_PATH = "/v1/events"  # the route the tracker POSTs to (API Gateway here, the local server)
MAX_EVENTS = 500
MAX_BODY_BYTES = 1_000_000
RETRY_AFTER_S = 5

# The Firehose stream that writes raw/ (infra/capabilities/ingest.py creates it with these; the
# local runtime's moto evaluates them the same way, clickstream/local/firehose.py). The timestamp
# is the approximate arrival time of the oldest record in the object, in UTC: the receive hour.
RAW_STREAM_PREFIX = (
    "raw/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
)
# Where Firehose puts what it could not deliver (outside raw/: never listed as events).
RAW_STREAM_ERROR_PREFIX = "firehose-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
RAW_STREAM_EXTENSION = ".ndjson.gz"  # Firehose compresses with GZIP; the extension says what it is
RAW_STREAM_BUFFER_S = 60  # an object at least every minute with traffic: the last run of an hour waits little
RAW_STREAM_BUFFER_MB = 64  # or sooner at 64 MB of NDJSON (about 10 MB gzipped)
# PutRecord takes records up to 1,000 KiB and PutRecordBatch up to 500 records and 4 MiB.
FIREHOSE_RECORD_BYTES = 1_000 * 1024
FIREHOSE_BATCH_BYTES = 4 * 1024 * 1024
FIREHOSE_BATCH_RECORDS = 500


class IngestSettings(Settings):
    """The shared settings plus the ingest's own (environment: INGEST_DLQ_URL, ...)."""

    # SQS queue that receives a batch whose raw write failed; empty: no queue (local runs).
    ingest_dlq_url: str = ""
    # The Firehose stream that writes raw/ (INGEST_STREAM_NAME); empty: one S3 PUT per request.
    ingest_stream_name: str = ""
    ingest_retry_after_s: int = RETRY_AFTER_S


class IngestResult(NamedTuple):
    status: int
    body: dict[str, Any]
    lines: list[bytes]


# ---------------------------------------------------------------------------------------------
# The pure logic.

_FIELDS = set(RawEvent.model_fields)
_DEVICE_FIELDS = set(Device.model_fields)
_GEO_FIELDS = set(Geo.model_fields)
_ECOM_FIELDS = set(Ecom.model_fields)
_ITEM_LIST_FIELDS = set(ItemList.model_fields)


def _only(value: Any, fields: set[str]) -> Any:
    return {k: v for k, v in value.items() if k in fields} if isinstance(value, dict) else value


def _reason(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in errors[:3]]
    if len(errors) > 3:
        parts.append(f"and {len(errors) - 3} more")
    return "; ".join(parts)


def _events(body: bytes) -> list[Any] | IngestResult:
    """The events of a request body, or the 400/413 answer."""
    if len(body) > MAX_BODY_BYTES:
        return IngestResult(413, {"error": f"body larger than {MAX_BODY_BYTES} bytes"}, [])
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return IngestResult(400, {"error": f"body is not JSON: {exc}"}, [])
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        payload = payload["events"]
    if not isinstance(payload, list):
        return IngestResult(400, {"error": 'expected a JSON array of events or {"events": [...]}'}, [])
    if len(payload) > MAX_EVENTS:
        return IngestResult(413, {"error": f"more than {MAX_EVENTS} events in one request"}, [])
    return payload


def _enrich(
    item: dict[str, Any], received_at: str, country: str | None, user_agent: str | None, hmac_key: bytes
) -> dict[str, Any]:
    line = _only(item, _FIELDS)
    line["received_at"] = received_at
    device = dict(_only(line.get("device") or {}, _DEVICE_FIELDS))
    if not device.get("user_agent") and user_agent:
        device["user_agent"] = user_agent[:1024]
    if not device.get("type") and device.get("user_agent"):
        device["type"] = DeviceType(device_from_user_agent(device["user_agent"])).value
    line["device"] = device
    geo = dict(_only(line.get("geo") or {}, _GEO_FIELDS))
    if country:
        geo["country"] = country
    line["geo"] = geo
    if line.get("ecom") is not None:
        line["ecom"] = _only(line["ecom"], _ECOM_FIELDS)
    if line.get("item_list") is not None:
        line["item_list"] = _only(line["item_list"], _ITEM_LIST_FIELDS)
    if line.get("user_id") is not None:
        line["user_id"] = hash_user_id(line["user_id"], hmac_key)
    if pii.looks_like_pii(line["anonymous_id"]):
        line["anonymous_id"] = hash_user_id(line["anonymous_id"], hmac_key)
    line["props"] = pii.strip_props(line.get("props") or {})
    for key in ("page_url", "referrer"):
        url = line.get(key)
        line[key] = pii.clean_url(url) if url else url
    return line


def process(body: bytes, headers: Mapping[str, str], now: datetime, hmac_key: bytes) -> IngestResult:
    """Validate and enrich one request's events.

    ``headers`` are matched case-insensitively. Returns 413 for more than ``MAX_EVENTS``
    events or ``MAX_BODY_BYTES`` bytes, 400 for a body that is not a JSON array nor
    ``{"events": [...]}``, else 202 with ``{"accepted", "rejected", "errors": [{"index",
    "reason"}]}`` and the accepted events as raw lines (JSON bytes, no newline).
    """
    events = _events(body)
    if isinstance(events, IngestResult):
        return events
    lower = {k.lower(): v for k, v in headers.items()}
    country = lower.get("cloudfront-viewer-country", "").strip().upper() or None
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        country = None
    user_agent = lower.get("user-agent") or None
    received_at = ts_iso(now)

    lines: list[bytes] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(events):
        if not isinstance(item, dict):
            errors.append({"index": index, "reason": "event is not a JSON object"})
            continue
        # received_at is the server's: a client's value is neither checked nor kept.
        raw = orjson.dumps({**item, "received_at": None})
        if len(raw) > MAX_LINE_BYTES:
            errors.append({"index": index, "reason": f"event larger than {MAX_LINE_BYTES} bytes"})
            continue
        try:
            TrackedEvent.model_validate_json(raw)
            line = orjson.dumps(_enrich(item, received_at, country, user_agent, hmac_key))
            RawEvent.model_validate_json(line)
        except ValidationError as exc:
            errors.append({"index": index, "reason": _reason(exc)})
            continue
        if len(line) > MAX_LINE_BYTES:
            errors.append({"index": index, "reason": f"event larger than {MAX_LINE_BYTES} bytes"})
            continue
        lines.append(line)
    return IngestResult(202, {"accepted": len(lines), "rejected": len(errors), "errors": errors}, lines)


def ndjson_gz(lines: list[bytes]) -> bytes:
    return gzip.compress(b"".join(line + b"\n" for line in lines), mtime=0)


# ---------------------------------------------------------------------------------------------
# The raw writer: Amazon Data Firehose.


class RawStream:
    """raw/ through a Firehose stream: the lines of a request as newline-terminated records.

    ``put_lines`` sends them in as few ``PutRecordBatch`` calls as the limits allow (records of
    at most ~1,000 KiB, whole lines each), retries once the records Firehose reports as failed,
    and returns the lines it still could not put (empty: all taken). A call that fails
    outright raises (``ClientError``, ``BotoCoreError``).
    """

    def __init__(self, stream_name: str, client: Any | None = None, retries: int = 1) -> None:
        self.stream_name = stream_name
        self.client = client if client is not None else boto3.client("firehose")
        self.retries = retries

    def put_lines(self, lines: list[bytes]) -> list[bytes]:
        pending = [
            (b"".join(line + b"\n" for line in chunk), chunk)
            for chunk in _chunks(lines, FIREHOSE_RECORD_BYTES)
        ]
        failed: list[tuple[bytes, list[bytes]]] = []
        for attempt in range(self.retries + 1):
            failed = []
            for batch in _record_batches(pending):
                response = self.client.put_record_batch(
                    DeliveryStreamName=self.stream_name, Records=[{"Data": record} for record, _ in batch]
                )
                if response.get("FailedPutCount", 0):
                    answers = response.get("RequestResponses", [])
                    failed.extend(
                        item for item, answer in zip(batch, answers, strict=False) if answer.get("ErrorCode")
                    )
            if not failed:
                return []
            logger.warning(
                "firehose refused records", stream=self.stream_name, records=len(failed), attempt=attempt
            )
            pending = failed
        return [line for _, chunk in failed for line in chunk]


def _record_batches(records: list[tuple[bytes, list[bytes]]]) -> Iterator[list[tuple[bytes, list[bytes]]]]:
    batch: list[tuple[bytes, list[bytes]]] = []
    size = 0
    for item in records:
        if batch and (len(batch) >= FIREHOSE_BATCH_RECORDS or size + len(item[0]) > FIREHOSE_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += len(item[0])
    if batch:
        yield batch


# ---------------------------------------------------------------------------------------------
# The dead-letter queue and the API Gateway wiring.

# Under SQS's 256 KiB message limit, with room for the attributes.
_DLQ_CHUNK_BYTES = 200_000


class DeadLetterQueue:
    """SQS queue of batches whose raw write failed: NDJSON bodies, with the receive hour.

    ``replay`` writes them into raw/ of that hour once S3 is back.
    """

    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self.client = client if client is not None else boto3.client("sqs")

    def send(self, lines: list[bytes], hour: datetime, reason: str) -> int:
        """Send the lines in messages of at most ~200 KB; returns the number of messages."""
        sent = 0
        for chunk in _chunks(lines, _DLQ_CHUNK_BYTES):
            self.client.send_message(
                QueueUrl=self.queue_url,
                MessageBody=b"\n".join(chunk).decode(),
                MessageAttributes={
                    "hour": {"DataType": "String", "StringValue": hour_iso(hour)},
                    "reason": {"DataType": "String", "StringValue": reason[:1000] or "unknown"},
                },
            )
            sent += 1
        return sent

    def replay(self, lake: Lake, max_messages: int = 1000) -> int:
        """Move dead-lettered batches into raw/ (one object per message); returns lines moved."""
        moved = handled = 0
        while handled < max_messages:
            response = self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            messages = response.get("Messages", [])
            if not messages:
                break
            for message in messages:
                hour = parse_hour(message["MessageAttributes"]["hour"]["StringValue"])
                lines = [line.encode() for line in message["Body"].split("\n") if line]
                lake.put_bytes(new_raw_key(hour), ndjson_gz(lines), "application/gzip")
                self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                moved += len(lines)
                handled += 1
        return moved


def _chunks(lines: list[bytes], max_bytes: int) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        yield chunk


def request_body(event: Mapping[str, Any]) -> bytes:
    """The body of an API Gateway payload v2 event; ValueError for bad base64."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"body is not valid base64: {exc}") from exc
    return body.encode() if isinstance(body, str) else bytes(body)


def api_response(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": orjson.dumps(body).decode(),
    }


def handle_api_event(
    event: Mapping[str, Any],
    *,
    lake: Lake | None = None,
    stream: RawStream | None = None,
    dead_letters: DeadLetterQueue | None,
    hmac_key: bytes,
    now: datetime | None = None,
    retry_after_s: int = RETRY_AFTER_S,
) -> dict[str, Any]:
    """POST /v1/events as an API Gateway HTTP API (payload v2) event -> its response.

    The accepted lines go to ``stream`` (Firehose) when given, else to ``lake`` as one object.
    """
    if stream is None and lake is None:
        raise ValueError("handle_api_event needs a raw stream or a lake")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    try:
        body = request_body(event)
    except ValueError as exc:
        return api_response(400, {"error": str(exc)})
    result = process(body, event.get("headers") or {}, now, hmac_key)
    if not result.lines:
        logger.info("ingest request", status=result.status, accepted=0, rejected=result.body.get("rejected"))
        return api_response(result.status, result.body)

    if stream is not None:
        key = f"firehose:{stream.stream_name}"
        try:
            lost = stream.put_lines(result.lines)
            reason = "Firehose refused records after a retry"
        except (ClientError, BotoCoreError) as exc:
            lost, reason = result.lines, f"{type(exc).__name__}: {exc}"
    else:
        assert lake is not None
        key = new_raw_key(now)
        lost = []
        try:
            lake.put_bytes(key, ndjson_gz(result.lines), "application/gzip")
        except (ClickstreamError, ClientError, BotoCoreError) as exc:
            lost, reason = result.lines, f"{type(exc).__name__}: {exc}"
    if lost:
        _dead_letter(lost, now, reason, dead_letters, key)
        return api_response(
            503,
            {"error": "the event store is unavailable; retry later", "retry_after_s": retry_after_s},
            {"retry-after": str(retry_after_s)},
        )
    logger.info(
        "ingest request",
        status=result.status,
        key=key,
        accepted=len(result.lines),
        rejected=result.body["rejected"],
    )
    return api_response(result.status, result.body)


def _dead_letter(
    lines: list[bytes], now: datetime, reason: str, dead_letters: DeadLetterQueue | None, key: str
) -> None:
    if dead_letters is None:
        logger.error("raw write failed, no dead-letter queue", key=key, lines=len(lines), reason=reason)
        return
    try:
        messages = dead_letters.send(lines, floor_hour(now), reason)
    except (ClientError, BotoCoreError):
        # The client still has the events and retries after the 503.
        logger.exception("raw write and dead-letter queue both failed", key=key, lines=len(lines))
        return
    logger.warning("raw write failed, batch dead-lettered", key=key, lines=len(lines), messages=messages)
