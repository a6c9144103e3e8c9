"""The one server-side fetch of a user-supplied URL (a manifest behind a submission's payload URL).

- http and https only, URLs as ``include/merritt/urls.py`` accepts them (no credentials);
- the host is resolved and *every* address it has must be public: loopback, private,
  link-local, shared, multicast, reserved and unspecified addresses (also inside IPv4-mapped,
  6to4 and Teredo IPv6 addresses) are refused unless they are in ``allowed_networks``
  (the staging DAG's Variable ``merritt_fetch_allowed_networks``, for internal depositors);
  the connection then goes to the address that was checked, so a second DNS answer cannot
  swap in another one, and HTTPS still verifies the certificate for the URL's host name;
- redirects are followed by hand, each hop checked like the first, at most ``MAX_REDIRECTS``;
- one deadline covers the whole fetch (every hop, connecting, headers and body): a
  watchdog shuts the socket when it passes, so a server trickling a byte at a time
  cannot hold the task; a body over ``max_bytes`` is refused, by its Content-Length or
  as soon as one byte too many has arrived;
- no error carries anything the server sent (no body, no reason phrase): only the URL,
  the status code, the address and the rule.

``FetchRefused`` (a ``SubmissionError``: fix the submission) is final; ``FetchFailed``
(a timeout, a connection or TLS failure, HTTP 408/429/5xx) is worth a retry.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from urllib.parse import urljoin

from include.merritt.submission import SubmissionError
from include.merritt.text import shown
from include.merritt.urls import HttpUrl, UrlError, parse_http_url

MAX_REDIRECTS = 3
DEADLINE_SECONDS = 120.0
CONNECT_TIMEOUT_SECONDS = 10.0
READ_TIMEOUT_SECONDS = 30.0
CHUNK_BYTES = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
HEADERS = {"User-Agent": "preservation-pipelines-merritt-staging", "Accept-Encoding": "identity", "Connection": "close"}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class FetchRefused(SubmissionError):
    """The URL, an address or an answer breaks a rule: retrying cannot help."""


class FetchFailed(RuntimeError):
    """The fetch did not complete (timeout, connection, TLS, a server error): a retry may succeed."""


def parse_allowed_networks(value: object) -> tuple[Network, ...]:
    """A JSON list of networks (``["10.20.0.0/16", "127.0.0.1"]``) → networks; ValueError naming a bad entry."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"expected a JSON list of networks, not {type(value).__name__}")
    networks = []
    for entry in value:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except (TypeError, ValueError):
            raise ValueError(f"{shown(entry)} is not a network like 10.20.0.0/16") from None
    return tuple(networks)


def address_problem(address: Address, allowed_networks: Iterable[Network] = ()) -> str | None:
    """Why a fetch must not go to ``address``, or None when it may."""
    if any(address in network for network in allowed_networks):
        return None
    embedded = []
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    for candidate in [address, *(inner for inner in embedded if inner is not None)]:
        if (
            not candidate.is_global
            or candidate.is_multicast
            or candidate.is_reserved
            or candidate.is_unspecified
            or candidate.is_loopback
        ):
            return f"{address} is not a public address (loopback, private, link-local or reserved)"
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchFailed(f"payload: {host} could not be resolved ({error})") from None
    return list(dict.fromkeys(info[4][0] for info in found))


def fetch(
    url: str,
    max_bytes: int,
    *,
    allowed_networks: Iterable[Network] = (),
    deadline_seconds: float = DEADLINE_SECONDS,
    resolver: Resolver = resolve,
) -> bytes:
    """GET ``url`` under every rule above; the body, at most ``max_bytes``."""
    body = bytearray()
    fetch_into(
        url,
        body.extend,
        max_bytes,
        allowed_networks=allowed_networks,
        deadline_seconds=deadline_seconds,
        resolver=resolver,
    )
    return bytes(body)


def fetch_into(
    url: str,
    write: Callable[[bytes], object],
    max_bytes: int,
    *,
    allowed_networks: Iterable[Network] = (),
    deadline_seconds: float = DEADLINE_SECONDS,
    resolver: Resolver = resolve,
) -> int:
    """GET ``url`` under every rule above, handing the body to ``write`` a chunk at a time; its length.

    On any error part of the body may have been written: the caller throws it away.
    """
    allowed = tuple(allowed_networks)
    deadline = time.monotonic() + deadline_seconds
    for _ in range(MAX_REDIRECTS + 1):
        target = _checked_url(url)
        address = _checked_address(url, target, allowed, resolver)
        status, location, length = _get(url, target, address, write, max_bytes, deadline, deadline_seconds)
        if status not in REDIRECT_STATUSES:
            return length
        if not location:
            raise FetchRefused(f"payload: GET {url}: HTTP {status} redirect without a Location")
        try:
            url = urljoin(url, location)
        except ValueError:
            raise FetchRefused(f"payload: GET {url}: HTTP {status} redirect to an unparseable Location") from None
    raise FetchRefused(f"payload: GET {url}: more than {MAX_REDIRECTS} redirects")


def _checked_url(url: str) -> HttpUrl:
    try:
        return parse_http_url(url)
    except UrlError as error:
        raise FetchRefused(f"payload: {shown(url)} {error}") from None


def _checked_address(url: str, target: HttpUrl, allowed: tuple[Network, ...], resolver: Resolver) -> Address:
    addresses = [ipaddress.ip_address(text.split("%", 1)[0]) for text in resolver(target.host, target.port)]
    if not addresses:
        raise FetchFailed(f"payload: {target.host} has no address")
    for address in addresses:
        problem = address_problem(address, allowed)
        if problem:
            raise FetchRefused(
                f"payload: GET {url} refused: {target.host} resolves to {problem}; "
                "an internal depositor's network must be listed in merritt_fetch_allowed_networks"
            )
    return addresses[0]


def _get(
    url: str,
    target: HttpUrl,
    address: Address,
    write: Callable[[bytes], object],
    max_bytes: int,
    deadline: float,
    deadline_seconds: float,
) -> tuple[int, str | None, int]:
    """One request to the checked address: (status, Location, body length); the body is written only for a 200."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchFailed(f"payload: GET {url}: no complete answer within {deadline_seconds:g} s")
    connection = _connection(target, address, timeout=min(CONNECT_TIMEOUT_SECONDS, remaining))
    watchdog = _Watchdog(connection, remaining)
    try:
        connection.request("GET", target.target, headers={"Host": target.host_header, **HEADERS})
        if connection.sock is not None:
            connection.sock.settimeout(min(READ_TIMEOUT_SECONDS, remaining))
        response = connection.getresponse()
        watchdog.check()
        if response.status in REDIRECT_STATUSES:
            return response.status, response.getheader("Location"), 0
        if response.status in RETRYABLE_STATUSES:
            raise FetchFailed(f"payload: GET {url}: HTTP {response.status}")
        if response.status != 200:
            raise FetchRefused(f"payload: GET {url}: HTTP {response.status}")
        length = response.getheader("Content-Length", "")
        if (
            length.isascii()
            and length.isdigit()
            and (len(length.lstrip("0")) > len(str(max_bytes)) or int(length) > max_bytes)
        ):
            raise FetchRefused(f"payload: GET {url}: its Content-Length is {_over(max_bytes)}")
        received = 0
        while chunk := response.read1(CHUNK_BYTES):
            received += len(chunk)
            if received > max_bytes:
                raise FetchRefused(f"payload: GET {url}: {_over(max_bytes)}")
            watchdog.check()
            write(chunk)
        watchdog.check()
        return 200, None, received
    except (OSError, http.client.HTTPException) as error:
        if watchdog.fired.is_set() or time.monotonic() >= deadline:
            raise FetchFailed(f"payload: GET {url}: no complete answer within {deadline_seconds:g} s") from None
        if isinstance(error, ssl.SSLCertVerificationError):
            raise FetchFailed(f"payload: GET {url}: the TLS certificate is not valid for {target.host}") from None
        raise FetchFailed(f"payload: GET {url}: {type(error).__name__} talking to {address}") from None
    finally:
        watchdog.cancel()
        connection.close()


def _over(max_bytes: int) -> str:
    return f"over the {max_bytes / 2**20:g} MB limit"


def _connection(target: HttpUrl, address: Address, *, timeout: float) -> http.client.HTTPConnection:
    if target.scheme == "https":
        return _PinnedHTTPSConnection(str(address), target.port, server_name=target.host, timeout=timeout)
    return http.client.HTTPConnection(str(address), target.port, timeout=timeout)


class _Watchdog:
    """Shuts the connection's socket at the deadline: a blocked read returns at once, and what it read is void."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self.fired = threading.Event()
        self._timer = threading.Timer(seconds, self._shut, args=(connection,))
        self._timer.daemon = True
        self._timer.start()

    def _shut(self, connection: http.client.HTTPConnection) -> None:
        self.fired.set()
        if connection.sock is not None:
            try:
                socket.socket.shutdown(connection.sock, socket.SHUT_RDWR)  # the plain socket's, also under TLS
            except OSError:
                pass

    def check(self) -> None:
        if self.fired.is_set():
            raise TimeoutError("the fetch's deadline passed")

    def cancel(self) -> None:
        self._timer.cancel()


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the address that was checked; verifies the certificate for the URL's host name."""

    def __init__(self, address: str, port: int, *, server_name: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()  # certificate and host name checked
        super().__init__(address, port, timeout=timeout, context=self.tls)
        self.server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)  # TCP to the checked address
        self.sock = self.tls.wrap_socket(self.sock, server_hostname=self.server_name)
