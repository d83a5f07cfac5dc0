"""Serving the dashboard with the standard library's WSGI server, one thread per request.

Why not a framework: the dashboard is a handful of read-only GET routes for one person on their
own machine; wsgiref (with a thread per request) serves that well, adds no dependency, and the
pages stay plain functions that the static site reuses.
"""

from __future__ import annotations

import socket
import sys
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


def make(app: Dashboard, host: str, port: int, *, quiet: bool = False) -> WSGIServer:
    """A server bound to host:port (port 0: any free one; see `server.server_port`)."""
    handler = type("_Silent", (_QuietHandler,), {"log_message": lambda *a: None}) if quiet \
        else _QuietHandler
    server_class = _ThreadingServer
    if ":" in host:  # an IPv6 address such as ::1
        server_class = type("_ThreadingServer6", (_ThreadingServer,),
                            {"address_family": socket.AF_INET6})
    return make_server(host, port, app, server_class=server_class, handler_class=handler)


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
