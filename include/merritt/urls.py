"""The http(s) URLs a submission may name (payloads, manifest rows, redirects): parsed strictly, once.

A URL is accepted when it is http or https, has a host that is a DNS name (IDNA allowed),
an IPv4 address or a bracketed IPv6 address, an ASCII-digit port from 1 to 65535, and
carries no credentials (``user:password@``: they would be stored in the queue and
logged) and no whitespace or control character.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlsplit

from include.merritt.text import describe_character, first_forbidden

SCHEMES = {"http": 80, "https": 443}
_WHITESPACE = re.compile(r"\s")
_PORT = re.compile(r"[0-9]{1,5}")
_DNS_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_MAX_HOST_LENGTH = 253
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"  # everything but non-ASCII and spaces stays as written


class UrlError(ValueError):
    """A URL refused; the message says why (without the URL, which the caller names)."""


@dataclass(frozen=True)
class HttpUrl:
    scheme: str
    host: str  # lower case; an IPv6 address without brackets; a DNS name in its ASCII (IDNA) form
    port: int
    target: str  # path and query as sent in the request line (percent-encoded ASCII)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"


def looks_like_url(text: str) -> bool:
    """One line starting like ``scheme://``: meant as a URL, so refused as one if it is not a good one."""
    stripped = text.strip()
    return "\n" not in stripped and re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", stripped) is not None


def parse_http_url(text: str) -> HttpUrl:
    """The URL's parts, or :class:`UrlError` saying what is wrong with it."""
    bad = first_forbidden(text)
    if bad is not None:
        raise UrlError(f"contains the control character {describe_character(text[bad])}")
    if _WHITESPACE.search(text):
        raise UrlError("contains whitespace")
    try:
        parts = urlsplit(text)
        netloc, scheme = parts.netloc, parts.scheme.lower()
    except ValueError as error:
        raise UrlError(f"cannot be parsed ({error})") from None
    if scheme not in SCHEMES:
        raise UrlError("is not an http(s) URL")
    if "@" in netloc:
        raise UrlError("carries credentials (user:password@host): URLs must not hold secrets")
    host_text, _, port_text = netloc.rpartition(":") if not netloc.endswith("]") else (netloc, "", "")
    if not host_text:  # no ':' at all: the whole netloc is the host
        host_text, port_text = netloc, ""
    port = _parse_port(port_text, scheme)
    target = quote(parts.path or "/", safe=_TARGET_SAFE) + (
        f"?{quote(parts.query, safe=_TARGET_SAFE)}" if parts.query else ""
    )
    return HttpUrl(scheme=scheme, host=_parse_host(host_text), port=port, target=target)


def _parse_port(text: str, scheme: str) -> int:
    if not text:
        return SCHEMES[scheme]
    if not _PORT.fullmatch(text) or not 1 <= int(text) <= 65535:
        raise UrlError("has a port that is not a number from 1 to 65535")
    return int(text)


@lru_cache(maxsize=1024)  # a manifest names the same few hosts on thousands of rows
def _parse_host(text: str) -> str:
    if text.startswith("["):
        if not text.endswith("]"):
            raise UrlError("has an unclosed '[' in its host")
        try:
            return str(ipaddress.IPv6Address(text[1:-1]))
        except ValueError:
            raise UrlError("has a host in brackets that is not an IPv6 address") from None
    if not text:
        raise UrlError("has no host")
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        pass
    try:
        name = text.lower().rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise UrlError("has a host that is not a valid DNS name") from None
    if len(name) > _MAX_HOST_LENGTH or not all(_DNS_LABEL.fullmatch(label) for label in name.split(".")):
        raise UrlError("has a host that is not a valid DNS name")
    return name
