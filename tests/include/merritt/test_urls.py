"""The URLs a submission may name, parsed strictly (the rules themselves are shown cell by cell in test_checkm)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from include.merritt.urls import HttpUrl, UrlError, looks_like_url, parse_http_url


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("https://Example.ORG/a b%20c?x=1#frag", None),
        ("https://Example.ORG/a%20c?x=ü#frag", HttpUrl("https", "example.org", 443, "/a%20c?x=%C3%BC")),
        ("http://[2001:DB8::1]:8080", HttpUrl("http", "2001:db8::1", 8080, "/")),
        ("HTTP://192.0.2.1:80/é", HttpUrl("http", "192.0.2.1", 80, "/%C3%A9")),
        ("https://bücher.example/x", HttpUrl("https", "xn--bcher-kva.example", 443, "/x")),
    ],
)
def test_urls_are_split_into_what_a_request_needs(url, parsed):
    if parsed is None:
        with pytest.raises(UrlError, match="whitespace"):
            parse_http_url(url)
    else:
        assert parse_http_url(url) == parsed


def test_the_host_header_names_a_port_only_when_it_is_not_the_default():
    assert parse_http_url("https://example.org:443/").host_header == "example.org"
    assert parse_http_url("http://[::1]:8080/").host_header == "[::1]:8080"


def test_a_payload_meant_as_a_url_is_one_line_with_a_scheme():
    assert looks_like_url(" https://example.org/m.checkm\n")
    assert looks_like_url("ftp://example.org/m.checkm")
    assert not looks_like_url("#%checkm_0.7\nhttps://example.org/a")


@given(st.text())
def test_any_text_is_a_url_or_a_url_error(text):
    try:
        url = parse_http_url(text)
    except UrlError:
        return
    assert url.scheme in ("http", "https") and 1 <= url.port <= 65535 and url.host
    assert url.target.isascii() and url.target.startswith("/")
