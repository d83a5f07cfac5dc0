"""The live dashboard as a WSGI application: a tiny router over the page functions.

Every request runs in its own read-only transaction (the session refuses writes too), on one
connection shared under a lock: a local dashboard has few readers, and a single connection keeps
the database's load predictable. Responses carry a strict Content-Security-Policy: only the
package's own stylesheet and script, nothing from elsewhere.
"""

from __future__ import annotations

import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl

import psycopg

from segflow.errors import SegflowError
from segflow.web import pages
from segflow.web.render import render, static_file
from segflow.web.view import BadRequest, NotFound, Page, View

HEADERS = [
    ("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; "
     "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
]
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error", 503: "Service Unavailable"}


class ReadOnlyDatabase:
    """One connection; each use is a read-only, repeatable-read transaction; reconnects after a
    lost connection."""

    def __init__(self, url: str):
        self.url = url
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()

    def _open(self) -> psycopg.Connection:
        from segflow.engines.postgres.db import connect

        conn = connect(self.url, application="segflow dashboard")
        conn.execute("SET default_transaction_read_only = on")  # the server refuses writes
        conn.commit()
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot per page
        return conn

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = self._open()
            try:
                with self._conn.transaction():
                    yield self._conn
            except psycopg.OperationalError:
                self._conn.close()
                self._conn = None
                raise SegflowError("lost the connection to the database") from None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


PageFn = Callable[..., Page]
ROUTES: list[tuple[re.Pattern[str], PageFn]] = [
    (re.compile(r"/(?:index\.html)?"), pages.grid_page),
    (re.compile(r"/groups\.html"), pages.groups_page),
    (re.compile(r"/groups/([^/]+)\.html"), pages.group_page),
    (re.compile(r"/segments/([^/]+)\.html"), pages.segment_page),
    (re.compile(r"/segments/([^/]+)/features\.html"), pages.features_page),
    (re.compile(r"/plan\.html"), pages.plan_page),
]


class Dashboard:
    """The WSGI application."""

    def __init__(self, database: ReadOnlyDatabase, view: View):
        self.database = database
        self.view = view

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        status, headers, body = self.respond(environ.get("REQUEST_METHOD", "GET"),
                                             environ.get("PATH_INFO", "/") or "/",
                                             environ.get("QUERY_STRING", ""))
        start_response(f"{status} {REASONS[status]}",
                       [*headers, ("Content-Length", str(len(body)))])
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def respond(self, method: str, path: str, query: str) -> tuple[int, list, bytes]:
        depth = max(path.count("/") - 1, 0)
        if method not in ("GET", "HEAD"):
            return self._error(405, "the dashboard only reads", depth)
        if path.startswith("/static/"):
            return self._static(path.removeprefix("/static/"))
        for pattern, page_fn in ROUTES:
            match = pattern.fullmatch(path)
            if match:
                view = View(params=dict(parse_qsl(query)), plan_path=self.view.plan_path,
                            members=self.view.members, timezone=self.view.timezone,
                            shop=self.view.shop)
                return self._page(page_fn, view, depth, *match.groups())
        return self._error(404, f"no page at {path}", depth)

    def _page(self, page_fn: PageFn, view: View, depth: int, *args: str
              ) -> tuple[int, list, bytes]:
        try:
            with self.database.transaction() as conn:
                page = page_fn(conn, *args, view)
            html = render(page)
        except NotFound as exc:
            return self._error(404, exc.message, depth)
        except BadRequest as exc:
            return self._error(400, exc.message, depth)
        except SegflowError as exc:
            return self._error(503, exc.message, depth)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return self._error(500, "something went wrong (the server log has the details)",
                               depth)
        return page.status, self._headers("text/html; charset=utf-8"), html.encode()

    def _static(self, name: str) -> tuple[int, list, bytes]:
        try:
            body = static_file(name)
        except KeyError:
            return self._error(404, f"no file {name}", 1)
        kind = STATIC_TYPES[name[name.rfind("."):]]
        return 200, [*HEADERS, ("Content-Type", kind), ("Cache-Control", "max-age=300")], body

    def _headers(self, kind: str) -> list[tuple[str, str]]:
        return [*HEADERS, ("Content-Type", kind), ("Cache-Control", "no-store")]

    def _error(self, status: int, message: str, depth: int) -> tuple[int, list, bytes]:
        html = render(Page("error.html", {"status": status, "reason": REASONS[status],
                                          "message": message, "last_run_day": None,
                                          "has_plan": False, "static": False, "revision": 0},
                           depth=depth))
        return status, self._headers("text/html; charset=utf-8"), html.encode()
