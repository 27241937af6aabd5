"""Ingest: POST /v1/events (API Gateway HTTP API, payload v2) -> raw/ in the lake.

Deployed, the lines go to the Firehose stream ``INGEST_STREAM_NAME``, which writes raw/ in
buffered gzipped objects; without one, one S3 object per request under ``LAKE_BUCKET``.

Event: ``IngestRequest`` (the parts of the API event it reads,
clickstream/pipeline/states.py); returns the HTTP response.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from clickstream.core.observability import logger, metrics, tracer
from clickstream.core.storage import Lake
from clickstream.pipeline.ingest import DeadLetterQueue, IngestSettings, RawStream, handle_api_event
from clickstream.pipeline.states import IngestRequest, parse_event


@cache
def _clients() -> tuple[IngestSettings, Lake | None, RawStream | None, DeadLetterQueue | None]:
    """Settings and clients, made on the first request and kept warm (not at import)."""
    settings = IngestSettings().require("user_id_hmac_key")
    queue = DeadLetterQueue(settings.ingest_dlq_url) if settings.ingest_dlq_url else None
    if settings.ingest_stream_name:
        return settings, None, RawStream(settings.ingest_stream_name), queue
    return settings, Lake(settings.lake_bucket), None, queue


# Tracing is off for this function (POWERTOOLS_TRACE_DISABLED, infra/capabilities/ingest.py):
# X-Ray per request would cost more than the function.
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_event(event, IngestRequest)
    settings, lake, stream, dead_letters = _clients()
    response = handle_api_event(
        request.model_dump(by_alias=True),
        lake=lake,
        stream=stream,
        dead_letters=dead_letters,
        hmac_key=settings.user_id_hmac_key.get_secret_value().encode(),
        retry_after_s=settings.ingest_retry_after_s,
    )
    accepted = orjson.loads(response["body"]).get("accepted", 0)
    metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=accepted)
    return response
