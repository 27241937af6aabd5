"""What a shop's page sends to an ingest endpoint (the local server's, the handler's or the stack's):
an event as the tracker posts it now, plain HTTP requests and CORS preflights."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any


def posted_event(**fields: Any) -> dict[str, Any]:
    """A page view of the contract posted now (a fresh event and session id), with ``fields`` set."""
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event_type": "view",
        "session_id": str(uuid.uuid4()),
        "anonymous_id": "anon-1",
        "page_url": "https://shop.example/",
    }
    event.update(fields)
    return event


def send(
    url: str, method: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str]]:
    """The status and the headers (names lowercased) of the answer, an HTTP error's included."""
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}


def preflight(url: str, origin: str) -> tuple[int, dict[str, str]]:
    """A browser's CORS preflight for a JSON POST to ``url`` from a page of ``origin``."""
    return send(
        url,
        "OPTIONS",
        {
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
