"""The dashboard answers only to its own host names (DNS rebinding): a real server, raw requests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segflow.web.server import make


def raw_get(port: int, host: str | None, family=socket.AF_INET, address="127.0.0.1") -> bytes:
    """One HTTP/1.1 request written by hand (no client library rewrites the Host header)."""
    lines = ["GET / HTTP/1.1", *([f"Host: {host}"] if host is not None else []),
             "Connection: close", "", ""]
    with socket.socket(family) as sock:
        sock.settimeout(10)
        sock.connect((address, port))
        sock.sendall("\r\n".join(lines).encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


@pytest.fixture
def served(app) -> Iterator[int]:
    server = make(app, "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def test_own_host_names_are_served(served):
    for host in ("127.0.0.1", f"127.0.0.1:{served}", "localhost", f"LocalHost:{served}",
                 "[::1]", f"[::1]:{served}"):
        response = raw_get(served, host)
        assert status(response) == 200, host
        assert b"segment-grid" in response


@pytest.mark.parametrize("host", ["evil.example", f"evil.example:{8765}", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "10.0.0.7", "", "127.0.0.1:x",
                                  "[::1", None])
def test_any_other_host_gets_421_and_no_data(served, app, host):
    response = raw_get(served, host)
    assert status(response) == 421, response[:200]
    assert b"Misdirected" in response
    assert b"@" not in response  # not one email, nothing of the page


def test_a_given_host_is_accepted_with_or_without_port():
    from segflow.web.server import host_allowed

    assert host_allowed("dash.internal:8765", "dash.internal")
    assert host_allowed("dash.internal", "dash.internal")
    assert host_allowed("[fe80::1]:80", "fe80::1")
    assert not host_allowed("evil.example", "dash.internal")
    # bound to every interface: an address literal or the machine's name, never another domain
    assert host_allowed("192.168.1.20:8765", "0.0.0.0")
    assert host_allowed(socket.gethostname(), "0.0.0.0")
    assert not host_allowed("evil.example", "0.0.0.0")


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=40))
def test_only_loopback_names_pass_for_a_loopback_bind(header):
    from segflow.web.server import host_allowed, host_name

    if host_allowed(header, "127.0.0.1"):
        assert host_name(header) in ("localhost", "127.0.0.1", "::1")
