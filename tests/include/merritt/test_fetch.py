"""The server-side fetch of user-supplied URLs, against real HTTP servers on loopback.

The servers run on 127.0.0.1, which the fetch refuses by default: each test that reaches
one passes the allow-list an internal depositor's network would be given, and the
refusals are shown without it.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import subprocess
import threading
import time

import pytest

from include.merritt.fetch import (
    MAX_REDIRECTS,
    FetchFailed,
    FetchRefused,
    address_problem,
    fetch,
    parse_allowed_networks,
)
from include.merritt.submission import SubmissionError
from tests.include.merritt.support import web  # noqa: F401 - fixtures

LOOPBACK = parse_allowed_networks(["127.0.0.1/32"])
SECRET = b"#%checkm_0.7 root:x:0:0:SECRET-CONTENT"


def redirect_to(location: str, status: int = 302):
    def answer(handler):
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.end_headers()

    return answer


def answer_with(status: int, body: bytes, headers: dict[str, str] | None = None):
    def answer(handler):
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def trickle(every_seconds: float, *, headers_too: bool = False):
    """Answer one byte at a time, forever (or until the client goes away)."""

    def answer(handler):
        try:
            if headers_too:
                for byte in b"HTTP/1.0 200 OK\r\nX-Slow: " + b"a" * 10_000:
                    handler.wfile.write(bytes([byte]))
                    handler.wfile.flush()
                    time.sleep(every_seconds)
            handler.send_response(200)
            handler.end_headers()
            while True:
                handler.wfile.write(b"#")
                handler.wfile.flush()
                time.sleep(every_seconds)
        except OSError:
            pass

    return answer


def test_an_allowed_server_is_fetched(web):
    web.pages["/m.checkm"] = b"#%checkm_0.7\n"
    assert fetch(web.url + "/m.checkm", 100, allowed_networks=LOOPBACK) == b"#%checkm_0.7\n"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.1", "0x7f.0.0.1"])
def test_loopback_is_refused_without_the_allow_list_and_nothing_is_requested(web, host):
    web.pages["/m.checkm"] = SECRET
    with pytest.raises(FetchRefused, match="is not a public address") as refused:
        fetch(f"http://{host}:{web.port}/m.checkm", 100)
    assert "merritt_fetch_allowed_networks" in str(refused.value)
    assert isinstance(refused.value, SubmissionError)  # final: the staging task fails without retries
    assert web.gets == []


def test_every_address_of_a_name_is_checked():
    """A name answering one public and one private address is refused, whichever comes first."""
    public_then_private = lambda host, port: ["93.184.215.14", "10.1.2.3"]  # noqa: E731
    with pytest.raises(FetchRefused, match="10.1.2.3 is not a public address"):
        fetch("https://mixed.example.org/m.checkm", 100, resolver=public_then_private)


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("172.16.5.4", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),  # cloud metadata
        ("100.64.0.1", True),  # shared address space
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("240.0.0.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("::ffff:127.0.0.1", True),  # IPv4-mapped loopback
        ("2002:7f00:1::", True),  # 6to4 of 127.0.0.1
        ("64:ff9b::a00:1", True),  # NAT64 of 10.0.0.1
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", True),  # Teredo whose client is 10.0.0.1
        ("93.184.215.14", False),
        ("2606:4700::1111", False),
    ],
)
def test_addresses(address, refused):
    assert (address_problem(ipaddress.ip_address(address)) is not None) is refused


def test_the_allow_list_admits_an_internal_network_only():
    internal = parse_allowed_networks(["10.20.0.0/16"])
    assert address_problem(ipaddress.ip_address("10.20.3.4"), internal) is None
    assert address_problem(ipaddress.ip_address("10.21.3.4"), internal) is not None
    with pytest.raises(ValueError, match="'10.0.0.300/8' is not a network"):
        parse_allowed_networks(["10.0.0.300/8"])
    with pytest.raises(ValueError, match="expected a JSON list"):
        parse_allowed_networks("10.0.0.0/8")


def test_a_redirect_is_checked_like_the_first_url(web):
    web.handlers["/to-metadata"] = redirect_to("http://169.254.169.254/latest/meta-data/")
    web.handlers["/to-ftp"] = redirect_to("ftp://example.org/m.checkm")
    web.handlers["/to-credentials"] = redirect_to("http://user:pw@127.0.0.1/m.checkm")
    web.handlers["/to-nowhere"] = redirect_to("http://[::1/")
    with pytest.raises(FetchRefused, match="169.254.169.254 is not a public address"):
        fetch(web.url + "/to-metadata", 100, allowed_networks=LOOPBACK)
    with pytest.raises(FetchRefused, match="is not an http"):
        fetch(web.url + "/to-ftp", 100, allowed_networks=LOOPBACK)
    with pytest.raises(FetchRefused, match="carries credentials"):
        fetch(web.url + "/to-credentials", 100, allowed_networks=LOOPBACK)
    with pytest.raises(FetchRefused, match="cannot be parsed|unparseable"):
        fetch(web.url + "/to-nowhere", 100, allowed_networks=LOOPBACK)


def test_redirects_are_followed_up_to_the_limit(web):
    web.pages["/m.checkm"] = b"#%checkm_0.7\n"
    for hop in range(MAX_REDIRECTS):
        web.handlers[f"/hop{hop}"] = redirect_to(f"/hop{hop + 1}" if hop + 1 < MAX_REDIRECTS else "/m.checkm", 301)
    web.handlers["/loop"] = redirect_to("/loop", 307)

    assert fetch(web.url + "/hop0", 100, allowed_networks=LOOPBACK) == b"#%checkm_0.7\n"
    with pytest.raises(FetchRefused, match=f"more than {MAX_REDIRECTS} redirects"):
        fetch(web.url + "/loop", 100, allowed_networks=LOOPBACK)
    assert web.gets.count("/loop") == MAX_REDIRECTS + 1


@pytest.mark.parametrize("headers_too", [False, True])
def test_a_server_trickling_its_answer_is_given_up_at_the_deadline(web, headers_too):
    web.handlers["/slow"] = trickle(0.05, headers_too=headers_too)
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="no complete answer within 1 s"):
        fetch(web.url + "/slow", 10**6, allowed_networks=LOOPBACK, deadline_seconds=1)
    assert time.monotonic() - started < 3


def test_a_body_over_the_cap_is_refused_by_its_length_or_as_it_arrives(web):
    web.handlers["/declared"] = answer_with(200, b"#" * 2000, {"Content-Length": "2000"})
    web.handlers["/undeclared"] = answer_with(200, b"#" * 2000)
    with pytest.raises(FetchRefused, match="Content-Length is over the"):
        fetch(web.url + "/declared", 1000, allowed_networks=LOOPBACK)
    with pytest.raises(FetchRefused, match="over the"):
        fetch(web.url + "/undeclared", 1000, allowed_networks=LOOPBACK)
    assert fetch(web.url + "/undeclared", 2000, allowed_networks=LOOPBACK) == b"#" * 2000


def test_errors_never_carry_what_the_server_sent(web):
    web.handlers["/missing"] = answer_with(404, SECRET)
    web.handlers["/broken"] = answer_with(503, SECRET)
    with pytest.raises(FetchRefused) as refused:
        fetch(web.url + "/missing", 1000, allowed_networks=LOOPBACK)
    assert str(refused.value) == f"payload: GET {web.url}/missing: HTTP 404"
    with pytest.raises(FetchFailed) as failed:  # a server error may pass: worth a retry
        fetch(web.url + "/broken", 1000, allowed_networks=LOOPBACK)
    assert "SECRET" not in str(failed.value) and "HTTP 503" in str(failed.value)


def test_a_closed_port_is_a_failure_worth_a_retry():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchFailed, match="ConnectionRefusedError"):
        fetch(f"http://127.0.0.1:{port}/m.checkm", 100, allowed_networks=LOOPBACK)


def test_https_verifies_the_certificate_for_the_url_host(tmp_path):
    """The connection goes to the checked address, and TLS still checks the name: a self-signed server fails."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        accepted = []

        def serve():
            connection, _ = listener.accept()
            try:
                accepted.append(context.wrap_socket(connection, server_side=True))
            except (ssl.SSLError, OSError):
                connection.close()

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        with pytest.raises(FetchFailed, match="TLS certificate is not valid for 127.0.0.1"):
            fetch(f"https://127.0.0.1:{port}/m.checkm", 100, allowed_networks=LOOPBACK)
        server.join(5)
