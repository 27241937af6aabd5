"""The CORS allow-list: exact origins only, never credentials (clickstream.core.origins)."""

from __future__ import annotations

import pytest

from clickstream.core.origins import cors_headers, parse_origins


def test_origins_are_read_from_text_or_a_list_normalised_and_deduplicated() -> None:
    assert parse_origins(None) == ()
    assert parse_origins("") == ()
    assert parse_origins(" https://shop.example.com, http://localhost:3000 ") == (
        "https://shop.example.com",
        "http://localhost:3000",
    )
    assert parse_origins(["HTTPS://Shop.Example.com", "https://shop.example.com"]) == (
        "https://shop.example.com",
    )
    assert parse_origins("https://a.example https://b.example:8443") == (
        "https://a.example",
        "https://b.example:8443",
    )
    assert parse_origins("http://[::1]:8080") == ("http://[::1]:8080",)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("*", "wildcards are not allowed"),
        ("https://*.example.com", "wildcards are not allowed"),
        ("https://shop.example.com/", "no path"),
        ("https://shop.example.com/shop", "no path"),
        ("https://shop.example.com?x=1", "no path"),
        ("shop.example.com", "scheme://host"),
        ("ftp://shop.example.com", "scheme://host"),
        ("null", "scheme://host"),
        ("https://user@shop.example.com", "scheme://host"),
        ("https://shop.example.com:443", "leave out the default port"),
        ("http://shop.example.com:80", "leave out the default port"),
        ("https://shop.example.com:99999", "not an origin"),
    ],
)
def test_anything_but_an_exact_origin_is_refused_with_what_to_write(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_origins(text)


def test_an_allowed_origin_gets_its_own_origin_back_and_never_credentials() -> None:
    allowed = ("https://shop.example.com",)
    assert cors_headers("https://shop.example.com", allowed) == {
        "vary": "origin",
        "access-control-allow-origin": "https://shop.example.com",
    }
    preflight = cors_headers("https://shop.example.com", allowed, preflight=True)
    assert preflight["access-control-allow-methods"] == "POST"
    assert preflight["access-control-allow-headers"] == "content-type"
    assert int(preflight["access-control-max-age"]) > 0
    for headers in (preflight, cors_headers("https://shop.example.com", allowed)):
        assert "access-control-allow-credentials" not in headers


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "",
        "null",
        "https://elsewhere.example",
        "https://shop.example.com.evil.example",
        "http://shop.example.com",
    ],
)
def test_any_other_origin_gets_no_cors_header(origin: str | None) -> None:
    headers = cors_headers(origin, ("https://shop.example.com",), preflight=True)
    assert headers == {"vary": "origin"}


def test_an_empty_allow_list_allows_no_other_origin() -> None:
    assert cors_headers("https://shop.example.com", (), preflight=True) == {"vary": "origin"}
