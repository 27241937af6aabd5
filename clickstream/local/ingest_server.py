"""The local ingest endpoint and the demo storefront, on one stdlib HTTP server.

``serve()`` starts it in a background thread:

- ``POST /v1/events`` becomes an API Gateway HTTP API (payload v2) event and goes through
  ``clickstream.pipeline.ingest.handle_api_event``, the function the Lambda handler calls;
- ``GET /sdk/<file>`` serves the tracker bundle (sdk/dist: tracker.min.js, tracker.mjs);
- ``GET /healthz`` answers ``{"ok": true}``;
- any other ``GET`` is a static file of the first of ``static_dirs`` that has it
  (default: the storefront, sdk/storefront), ``/`` being ``index.html``.

CORS as the deployed HTTP API answers it (``clickstream.core.origins``): a
preflight (``OPTIONS``) or a ``POST`` from an origin of ``allowed_origins`` gets
``access-control-allow-origin`` with that origin, any other origin gets no CORS
header at all (the browser then refuses to send the batch), and no answer ever
carries ``access-control-allow-credentials``. The storefront served here is the
server's own origin and needs none of it.
"""

from __future__ import annotations

import base64
import mimetypes
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from clickstream.core.observability import logger
from clickstream.core.origins import cors_headers, parse_origins
from clickstream.core.storage import Lake
from clickstream.pipeline.ingest import (
    EVENTS_PATH,
    MAX_BODY_BYTES,
    DeadLetterQueue,
    IngestSettings,
    RawStream,
    handle_api_event,
)

ROOT = Path(__file__).resolve().parents[2]
STOREFRONT_DIR = ROOT / "sdk" / "storefront"
TRACKER_DIR = ROOT / "sdk" / "dist"


@dataclass
class IngestServer:
    httpd: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def host(self) -> str:
        return str(self.httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def shutdown(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    lake: Lake
    dead_letters: DeadLetterQueue | None
    stream: RawStream | None
    hmac_key: bytes
    retry_after_s: int
    static_dirs: list[Path]
    tracker_dir: Path
    allowed_origins: tuple[str, ...]


def api_event(
    method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    """An HTTP request as API Gateway HTTP API hands it to Lambda (payload format 2.0)."""
    parts = urlsplit(target)
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    now_ms = int(time.time() * 1000)
    return {
        "version": "2.0",
        "routeKey": f"{method} {parts.path}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": merged,
        "requestContext": {
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {parts.path}",
            "stage": "$default",
            "timeEpoch": now_ms,
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("http", request=self.requestline, detail=format % args)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _cors(self, preflight: bool = False) -> dict[str, str]:
        return cors_headers(self.headers.get("origin"), self.server.allowed_origins, preflight)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, orjson.dumps(value), {"content-type": "application/json", **self._cors()})

    def do_OPTIONS(self) -> None:
        """A CORS preflight: answered for an allowed origin only (like API Gateway's CORS)."""
        preflight = bool(self.headers.get("access-control-request-method"))
        self._send(204, b"", self._cors(preflight=preflight))

    def do_POST(self) -> None:
        if urlsplit(self.path).path != EVENTS_PATH:
            self._json(404, {"error": f"no route POST {self.path}"})
            return
        length = int(self.headers.get("content-length") or 0)
        # A body over the limit is read only up to it: ingest answers 413, the connection closes.
        body = self.rfile.read(min(length, MAX_BODY_BYTES + 1))
        if length > MAX_BODY_BYTES:
            self.close_connection = True
        event = api_event("POST", self.path, list(self.headers.items()), body, self.client_address[0])
        srv = self.server
        response = handle_api_event(
            event,
            lake=srv.lake,
            stream=srv.stream,
            dead_letters=srv.dead_letters,
            hmac_key=srv.hmac_key,
            retry_after_s=srv.retry_after_s,
        )
        headers = {**response.get("headers", {}), **self._cors()}
        self._send(int(response["statusCode"]), str(response.get("body", "")).encode(), headers)

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if path == "/healthz":
            self._json(200, {"ok": True})
            return
        if path.startswith("/sdk/"):
            file = _within(self.server.tracker_dir, path.removeprefix("/sdk/"))
        else:
            relative = path.lstrip("/") or "index.html"
            candidates = (_within(d, relative) for d in self.server.static_dirs)
            file = next((f for f in candidates if f is not None), None)
        if file is None:
            self._send(404, b"not found\n", {"content-type": "text/plain; charset=utf-8"})
            return
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith(("javascript", "json")):
            content_type += "; charset=utf-8"
        self._send(200, file.read_bytes(), {"content-type": content_type, "cache-control": "no-cache"})

    do_HEAD = do_GET


def _within(base: Path, relative: str) -> Path | None:
    """base/relative if it is a file inside base (no way out with '..'), else None."""
    root = base.resolve()
    candidate = (root / relative).resolve()
    if candidate.is_dir():
        candidate = candidate / "index.html"
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    lake: Lake | None = None,
    static_dirs: Sequence[str | Path] | None = None,
    *,
    settings: IngestSettings | None = None,
    dead_letters: DeadLetterQueue | None = None,
    stream: RawStream | None = None,
    tracker_dir: str | Path = TRACKER_DIR,
    allowed_origins: Sequence[str] = (),
) -> IngestServer:
    """Start the server in a background thread; ``port=0`` picks a free port (see ``.url``).

    ``lake`` defaults to the settings' bucket; ``static_dirs`` to the storefront; the
    dead-letter queue to ``INGEST_DLQ_URL`` when set. With a ``stream`` (the local stack's
    moto Firehose stream, as deployed: clickstream/local/firehose.py) accepted lines go there,
    else one object per request into ``lake``. ``allowed_origins``: other origins
    whose pages may post events (exact origins, see ``clickstream.core.origins``).
    """
    settings = settings or IngestSettings()
    if dead_letters is None and settings.ingest_dlq_url:
        dead_letters = DeadLetterQueue(settings.ingest_dlq_url)
    httpd = _Server((host, port), _Handler)
    httpd.lake = lake if lake is not None else Lake(settings.lake_bucket)
    httpd.dead_letters = dead_letters
    httpd.stream = stream
    httpd.hmac_key = settings.user_id_hmac_key.get_secret_value().encode()
    httpd.retry_after_s = settings.ingest_retry_after_s
    httpd.static_dirs = [Path(d) for d in (static_dirs if static_dirs is not None else [STOREFRONT_DIR])]
    httpd.tracker_dir = Path(tracker_dir)
    httpd.allowed_origins = parse_origins(list(allowed_origins))
    if not (httpd.tracker_dir / "tracker.min.js").is_file():
        logger.warning("tracker bundle missing: run `npm run build --prefix sdk`", dir=str(httpd.tracker_dir))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.name = f"ingest-server-{httpd.server_address[1]}"
    thread.start()
    server = IngestServer(httpd, thread)
    logger.info("ingest server listening", url=server.url, events=server.url + EVENTS_PATH)
    return server
