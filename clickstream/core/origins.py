"""The origins allowed to send events from their pages (CORS), deployed and local alike.

A shop whose pages live on its own domain posts to the ingest endpoint from
another origin, so the browser asks first (a CORS preflight: the tracker sends
``application/json``). The answer is the same on AWS (the HTTP API's
CorsConfiguration, from the CDK context value ``clickstream:allowedOrigins``)
and locally (``clickstream up --allowed-origin``, or
``CLICKSTREAM_ALLOWED_ORIGINS``):

- only exact origins, ``scheme://host[:port]`` as a browser sends them in the
  ``Origin`` header: no wildcard, no path; empty by default (no other origin);
- ``POST`` with a ``content-type`` header;
- never credentials: no ``Access-Control-Allow-Credentials``, so no cookie of
  the API's domain ever rides along, and a page cannot read a response with one.

CORS is enforced by browsers, it is not authentication: anything that is not a
browser can still post events, as it always could.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

ENV_VAR = "CLICKSTREAM_ALLOWED_ORIGINS"
ALLOW_METHODS = ("POST",)
ALLOW_HEADERS = ("content-type",)
MAX_AGE_S = 3600  # browsers cache a preflight answer this long (Chrome caps it at 2 hours)
_DEFAULT_PORTS = {"http": 80, "https": 443}
EXAMPLE = "https://shop.example.com"


def parse_origins(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """The allow-list from text (origins separated by commas or spaces) or a list; ValueError if invalid.

    Scheme and host are lower-cased (browsers send them so); duplicates are dropped.
    """
    if value is None:
        return ()
    items = re.split(r"[\s,]+", value) if isinstance(value, str) else [str(v) for v in value]
    origins: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        origin = _origin(item)
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def _origin(text: str) -> str:
    if "*" in text:
        raise ValueError(f"{text!r}: wildcards are not allowed; list each origin, e.g. {EXAMPLE}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an origin ({exc}); e.g. {EXAMPLE}") from exc
    scheme = parts.scheme.lower()
    if (
        scheme not in _DEFAULT_PORTS
        or not parts.hostname
        or parts.path not in ("",)
        or parts.query
        or parts.fragment
        or parts.username is not None
        or "@" in parts.netloc
    ):
        raise ValueError(
            f"{text!r} is not an origin: scheme://host[:port] with http or https, nothing after "
            f"the host or port (no path, not even a trailing /), e.g. {EXAMPLE}"
        )
    if port == _DEFAULT_PORTS[scheme]:
        raise ValueError(f"{text!r}: leave out the default port :{port}; browsers send the origin without it")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def cors_headers(origin: str | None, allowed: Iterable[str], preflight: bool = False) -> dict[str, str]:
    """The CORS response headers for a request from ``origin``: none unless it is allowed.

    A preflight's answer adds the methods, the headers and how long to cache it.
    Never ``access-control-allow-credentials``.
    """
    headers = {"vary": "origin"}
    if not origin or origin not in set(allowed):
        return headers
    headers["access-control-allow-origin"] = origin
    if preflight:
        headers["access-control-allow-methods"] = ", ".join(ALLOW_METHODS)
        headers["access-control-allow-headers"] = ", ".join(ALLOW_HEADERS)
        headers["access-control-max-age"] = str(MAX_AGE_S)
    return headers
