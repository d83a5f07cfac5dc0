"""Serving the dashboard with the standard library's WSGI server, one thread per request.

Why not a framework: the dashboard is a handful of read-only GET routes for one person on their
own machine; wsgiref (with a thread per request) serves that well, adds no dependency, and the
pages stay plain functions that the static site reuses.

Every request's `Host` header must name the address the server was bound to (or a loopback
name): a web page whose domain was re-pointed at 127.0.0.1 (DNS rebinding) sends its own domain
as the host, and gets "421 Misdirected Request" instead of member emails.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from segflow.web.app import Dashboard


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    """One short line per request on stderr, no reverse DNS lookups."""

    def address_string(self) -> str:
        return self.client_address[0]

    def log_message(self, format: str, *args) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def host_name(header: str) -> str | None:
    """The name in a `Host` header, without its port and brackets, lower case (None: malformed)."""
    header = header.strip().lower()
    if header.startswith("["):  # [::1] or [::1]:8765
        end = header.find("]")
        rest = header[end + 1:]
        if end < 0 or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return header[1:end]
    name, colon, port = header.partition(":")
    if colon and not port.isdigit():
        return None
    return name.rstrip(".") or None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_allowed(header: str | None, bound: str) -> bool:
    """Whether a request's `Host` header names this server: a loopback name, the address it was
    bound to (`--host`), or, bound to every interface (0.0.0.0 / ::), an IP address or this
    machine's own name (a rebinding page always sends a domain name of its own)."""
    name = host_name(header or "")
    if name is None:
        return False
    bound = bound.strip().lower().strip("[]").rstrip(".")
    if name in LOOPBACK_NAMES or name == bound:
        return True
    if bound in WILDCARDS:
        return _is_ip(name) or name in {socket.gethostname().lower(), socket.getfqdn().lower()}
    return False


class HostCheck:
    """WSGI middleware: answers 421 to a request whose `Host` is not one of this server's."""

    def __init__(self, app: Callable, bound: str):
        self.app = app
        self.bound = bound

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if host_allowed(environ.get("HTTP_HOST"), self.bound):
            return self.app(environ, start_response)
        body = (b"421 Misdirected Request: this dashboard answers only to the host it listens "
                b"on (localhost, 127.0.0.1, [::1] or its --host)\n")
        start_response("421 Misdirected Request", [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store")])
        return [body]


def make(app: Dashboard, host: str, port: int, *, quiet: bool = False) -> WSGIServer:
    """A server bound to host:port (port 0: any free one; see `server.server_port`) that answers
    only requests whose `Host` header names it (see HostCheck)."""
    handler = type("_Silent", (_QuietHandler,), {"log_message": lambda *a: None}) if quiet \
        else _QuietHandler
    server_class = _ThreadingServer
    if ":" in host:  # an IPv6 address such as ::1
        server_class = type("_ThreadingServer6", (_ThreadingServer,),
                            {"address_family": socket.AF_INET6})
    return make_server(host, port, HostCheck(app, host), server_class=server_class, handler_class=handler)


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
