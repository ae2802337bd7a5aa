"""The sandbox HTTP server core: one local port that answers like Reddit, Flickr and image hosts.

A :class:`SandboxServer` is a ``ThreadingHTTPServer`` on 127.0.0.1 (port 0 = a free port) that
runs in a background thread. It routes ``(method, path regex)`` to handler functions, counts
every request per route and status, and can inject faults per route.

Layout of the one port
  /...                          the Reddit API (oauth.reddit.com and www.reddit.com share it)
  /_host/<hostname>/<path>      "virtual hosts": i.redd.it, preview.redd.it, i.imgur.com,
                                imgur.com, live.staticflickr.com, api.flickr.com, ...

``SandboxServer.host_map()`` returns ``{real hostname: sandbox base URL}``; a crawler rewrites
``https://i.redd.it/abc.jpg`` to ``<base>/_host/i.redd.it/abc.jpg`` with it (see
``emofuse.crawlers.net.rewrite_url``). No client library is patched: PRAW gets the sandbox
through its documented ``oauth_url``/``reddit_url`` settings, image downloads through the map.

Registering routes from another module
  A handler is ``handler(request: Request, match: re.Match) -> Response``. Register it on the
  server (or on its ``router``) with a route name, used by counters and fault injection::

      from emofuse.crawlers.sandbox.server import Request, Response, SandboxServer

      def register_flickr_routes(server: SandboxServer, world) -> None:
          def rest(request: Request, match) -> Response:
              method = request.arg("method")
              ...
              return Response.json({"stat": "ok", ...})

          server.add_host_route("api.flickr.com", "GET", r"/services/rest/?", rest,
                                name="flickr.rest")
          server.add_host_route("live.staticflickr.com", "GET", r"/(?P<path>.+)", photo,
                                name="flickr.static")

  ``add_route(method, pattern, handler, name)`` registers at the root (the Reddit API);
  ``add_host_route(hostname, ...)`` under ``/_host/<hostname>`` and adds the host to
  ``host_map()``. Patterns are regexes matched against the whole path (query excluded).
  ``register_flickr_routes`` may receive either the server or its router: both have the same
  ``add_route``/``add_host_route`` methods.

Fault injection (per route name, fnmatch pattern, optionally the first N requests only)::

    server.inject("host.i.redd.it", "status", status=503, times=2)   # first 2 answer 503
    server.inject("reddit.*", "ratelimit", times=1, retry_after=1)   # a 429 with headers
    server.inject("host.*", "latency", seconds=0.05)                # every image request
    server.inject("host.i.imgur.com", "timeout", seconds=3)         # sleep past the client
    server.inject("host.*", "truncate", times=1)                    # half the body, then close
    server.inject("host.*", "corrupt", times=1)                     # magic bytes kept, rest noise
    server.inject("host.*", "reset", times=1)                       # TCP reset, no answer
    server.inject("reddit.listing", "status", status=500, path="^/r/rage/")  # one subreddit
    server.enforce_rate_limit(limit=30, window_s=2.0, routes="reddit.*")

Counters: ``server.count(route="reddit.*", status=429)`` (fnmatch on route names).
"""

from __future__ import annotations

import fnmatch
import json
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOST_PREFIX = "/_host/"


@dataclass
class Request:
    """What a handler sees: method, path (without query), query args, headers, body."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    route: str = ""
    server: SandboxServer | None = None

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A query-string or form (x-www-form-urlencoded body) argument."""
        if name in self.query:
            return self.query[name][0]
        return self.form().get(name, [default])[0]

    def form(self) -> dict[str, list[str]]:
        if not self.body:
            return {}
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict | None = None) -> Response:
        return cls(
            status,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json; charset=UTF-8", **(headers or {})},
        )

    @classmethod
    def bytes(cls, data: bytes, content_type: str, status: int = 200) -> Response:
        return cls(status, data, {"Content-Type": content_type})

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode(), {"Content-Type": "text/html; charset=utf-8"})

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Response:
        return cls(status, b"", {"Location": location})

    @classmethod
    def not_found(cls, message: str = "Not Found") -> Response:
        return cls.json({"message": message, "error": 404}, status=404)


Handler = Callable[[Request, "re.Match[str]"], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern
    handler: Handler
    name: str


class Router:
    """Ordered ``(method, path regex) -> handler`` table. First full match wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.hosts: set[str] = set()

    def add_route(self, method: str, pattern: str, handler: Handler, name: str) -> Route:
        route = Route(method.upper(), re.compile(pattern), handler, name)
        self.routes.append(route)
        return route

    def add_host_route(
        self, hostname: str, method: str, pattern: str, handler: Handler, name: str | None = None
    ) -> Route:
        """A route of a virtual host, served under ``/_host/<hostname>``."""
        self.hosts.add(hostname)
        if not pattern.startswith("/"):
            pattern = "/" + pattern
        full = re.escape(HOST_PREFIX + hostname) + pattern
        return self.add_route(method, full, handler, name or f"host.{hostname}")

    def route(self, method: str, pattern: str, name: str) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add_route`."""

        def decorate(handler: Handler) -> Handler:
            self.add_route(method, pattern, handler, name)
            return handler

        return decorate

    def find(self, method: str, path: str) -> tuple[Route, re.Match] | None:
        for route in self.routes:
            if route.method != method and not (route.method == "GET" and method == "HEAD"):
                continue
            match = route.pattern.fullmatch(path)
            if match:
                return route, match
        return None


FAULT_KINDS = ("latency", "status", "ratelimit", "timeout", "truncate", "corrupt", "reset")


@dataclass
class Fault:
    """One injected fault: applies to requests whose route name matches ``route`` (fnmatch).

    ``times``: how many matching requests it hits (None = all); ``skip``: let that many
    matching requests through first; ``probability``: hit a random share (seeded); ``path``:
    a regex the request path must also match (one subreddit, one image).
    """

    route: str
    kind: str
    times: int | None = None
    skip: int = 0
    probability: float = 1.0
    seconds: float = 0.0  # latency / timeout sleep
    status: int = 503  # for kind "status"
    retry_after: float = 1.0  # for kind "ratelimit"
    path: str | None = None  # also require this regex to match the path (e.g. "^/r/rage/")
    seen: int = 0
    hits: int = 0

    def take(self, route_name: str, path: str, rng: random.Random) -> bool:
        """Called under the server lock: does this fault hit this request?"""
        if not fnmatch.fnmatchcase(route_name, self.route):
            return False
        if self.path is not None and not re.search(self.path, path):
            return False
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        if self.probability < 1.0 and rng.random() >= self.probability:
            return False
        self.hits += 1
        return True


@dataclass
class RateLimit:
    """Reddit-style fixed window: ``limit`` requests per ``window_s`` for matching routes."""

    limit: int
    window_s: float
    routes: str = "reddit.*"
    window_start: float = 0.0
    used: int = 0

    def admit(self, now: float) -> tuple[bool, dict[str, str]]:
        if now - self.window_start >= self.window_s:
            self.window_start, self.used = now, 0
        reset = max(0.0, self.window_s - (now - self.window_start))
        allowed = self.used < self.limit
        if allowed:
            self.used += 1
        headers = {
            "X-Ratelimit-Used": str(self.used),
            "X-Ratelimit-Remaining": f"{float(max(0, self.limit - self.used)):.1f}",
            "X-Ratelimit-Reset": str(max(1, round(reset + 0.4999))),
        }
        return allowed, headers


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without TCP_NODELAY, Nagle's algorithm
        # and the client's delayed ACK add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            pass  # the client hung up (e.g. it stopped reading a body it did not want)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests count, not log
        pass

    def do_GET(self) -> None:
        self.server.sandbox._serve(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    sandbox: SandboxServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a crawler closing its pool, a timeout) is normal here, not
        # worth a traceback on stderr; anything else is still reported.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class SandboxServer:
    """The sandbox server. Use as a context manager or call :meth:`start` / :meth:`stop`.

    ``world`` is what the registered API modules serve (see ``world.py``); ``register`` is a
    list of ``register_*_routes(server, world)`` functions run before starting. With
    ``world`` given and ``register`` left None, the Reddit API and image hosts are registered.
    """

    def __init__(
        self,
        world: Any = None,
        host: str = "127.0.0.1",
        port: int = 0,
        register: list[Callable[[SandboxServer, Any], None]] | None = None,
        seed: int = 0,
    ):
        self.world = world
        self.router = Router()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.faults: list[Fault] = []
        self.rate_limits: list[RateLimit] = []
        self.counts: Counter[tuple[str, int]] = Counter()
        self.log: list[tuple[str, str, str, int]] = []  # (method, path, route, status)
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.sandbox = self
        self._thread: threading.Thread | None = None
        # A bound but never listening socket: connecting to it is refused, like a dead host.
        self._dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._dead.bind((host, 0))
        self.dead_hosts: set[str] = set()
        if register is None and world is not None:
            from emofuse.crawlers.sandbox.flickr_api import register_flickr_routes
            from emofuse.crawlers.sandbox.hosts import register_host_routes
            from emofuse.crawlers.sandbox.reddit_api import register_reddit_routes

            register = [register_reddit_routes, register_host_routes, register_flickr_routes]
        for register_routes in register or []:
            register_routes(self, world)

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL of the root (the Reddit API): ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def host_url(self, hostname: str) -> str:
        return f"{self.url}{HOST_PREFIX}{hostname}"

    def host_map(self) -> dict[str, str]:
        """``{real hostname: sandbox base URL}`` for every virtual host (and dead hosts)."""
        mapping = {hostname: self.host_url(hostname) for hostname in sorted(self.router.hosts)}
        dead = f"http://127.0.0.1:{self._dead.getsockname()[1]}"
        mapping.update({hostname: dead for hostname in sorted(self.dead_hosts)})
        return mapping

    def praw_settings(self) -> dict[str, str]:
        """The PRAW settings that point PRAW at this server (``oauth_url``, ``reddit_url``)."""
        return {"oauth_url": self.url, "reddit_url": self.url, "short_url": self.url}

    def start(self) -> SandboxServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        self._dead.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- routes ---------------------------------------------------------------------------
    def add_route(self, method: str, pattern: str, handler: Handler, name: str) -> Route:
        return self.router.add_route(method, pattern, handler, name)

    def add_host_route(
        self, hostname: str, method: str, pattern: str, handler: Handler, name: str | None = None
    ) -> Route:
        return self.router.add_host_route(hostname, method, pattern, handler, name)

    def route(self, method: str, pattern: str, name: str) -> Callable[[Handler], Handler]:
        return self.router.route(method, pattern, name)

    def add_dead_host(self, hostname: str) -> None:
        """A host whose connections are refused (a dead image host)."""
        self.dead_hosts.add(hostname)

    # -- faults, rate limits, counters ----------------------------------------------------
    def inject(self, route: str, kind: str, **params: Any) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {FAULT_KINDS}")
        fault = Fault(route=route, kind=kind, **params)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()
            self.rate_limits.clear()

    def enforce_rate_limit(self, limit: int, window_s: float, routes: str = "reddit.*") -> None:
        """Answer 429 past ``limit`` requests per window; every answer announces the budget."""
        with self._lock:
            self.rate_limits.append(RateLimit(limit, window_s, routes))

    def count(self, route: str = "*", status: int | None = None) -> int:
        """Requests served whose route name matches ``route`` (fnmatch) and status."""
        with self._lock:
            return sum(
                n
                for (name, code), n in self.counts.items()
                if fnmatch.fnmatchcase(name, route) and (status is None or code == status)
            )

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.log.clear()

    # -- serving --------------------------------------------------------------------------
    def _serve(self, http: _Handler) -> None:
        parts = urlsplit(http.path)
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length) if length else b""
        request = Request(
            method=http.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in http.headers.items()},
            body=body,
            server=self,
        )
        found = self.router.find(request.method, request.path)
        route_name = found[0].name if found else "unrouted"
        request.route = route_name

        with self._lock:
            active = [f for f in self.faults if f.take(route_name, request.path, self._rng)]
            limit_headers: dict[str, str] = {}
            limited = False
            for rate_limit in self.rate_limits:
                if fnmatch.fnmatchcase(route_name, rate_limit.routes):
                    allowed, limit_headers = rate_limit.admit(time.monotonic())
                    limited = limited or not allowed

        for fault in active:
            if fault.kind == "latency":
                time.sleep(fault.seconds)
        if any(f.kind == "timeout" for f in active):
            time.sleep(max(f.seconds for f in active if f.kind == "timeout") or 5.0)
            self._count(request, route_name, 0)
            self._close(http)
            return
        if any(f.kind == "reset" for f in active):
            self._count(request, route_name, 0)
            self._reset(http)
            return

        ratelimit_fault = next((f for f in active if f.kind == "ratelimit"), None)
        status_fault = next((f for f in active if f.kind == "status"), None)
        if limited or ratelimit_fault:
            retry = ratelimit_fault.retry_after if ratelimit_fault else None
            headers = dict(limit_headers)
            if ratelimit_fault:
                headers.setdefault("X-Ratelimit-Used", "1000")
                headers["X-Ratelimit-Remaining"] = "0.0"
                headers["X-Ratelimit-Reset"] = str(max(1, round(retry or 1)))
            headers["Retry-After"] = str(
                max(1, round(retry or float(headers["X-Ratelimit-Reset"])))
            )
            response = Response.json({"message": "Too Many Requests", "error": 429}, 429, headers)
        elif status_fault:
            response = Response.json(
                {"message": "injected fault", "error": status_fault.status}, status_fault.status
            )
        elif found is None:
            response = Response.not_found()
        else:
            route, match = found
            try:
                response = route.handler(request, match)
            except Exception as error:  # a handler bug must show up as a 500, not a hang
                response = Response.json({"message": f"sandbox error: {error!r}"}, 500)
            response.headers = {**limit_headers, **response.headers}

        body = response.body
        truncate = any(f.kind == "truncate" for f in active) and response.status == 200
        if any(f.kind == "corrupt" for f in active) and response.status == 200:
            body = corrupt_bytes(body, self._rng)
        self._count(request, route_name, response.status)
        self._write(http, response, body, truncate)

    def _count(self, request: Request, route_name: str, status: int) -> None:
        with self._lock:
            self.counts[(route_name, status)] += 1
            self.log.append((request.method, request.path, route_name, status))

    def _write(self, http: _Handler, response: Response, body: bytes, truncate: bool) -> None:
        try:
            http.send_response(response.status)
            for name, value in response.headers.items():
                http.send_header(name, value)
            http.send_header("Content-Length", str(len(body)))
            if truncate:
                http.send_header("Connection", "close")
            http.end_headers()
            if http.command != "HEAD":
                http.wfile.write(body[: len(body) // 2] if truncate else body)
            http.wfile.flush()
            if truncate:
                self._close(http)
        except (BrokenPipeError, ConnectionResetError):
            http.close_connection = True

    @staticmethod
    def _close(http: _Handler) -> None:
        http.close_connection = True
        try:
            http.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    @staticmethod
    def _reset(http: _Handler) -> None:
        """Close with SO_LINGER 0: the client sees a TCP reset (ECONNRESET)."""
        http.close_connection = True
        try:
            http.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            http.connection.close()
        except OSError:
            pass


def corrupt_bytes(body: bytes, rng: random.Random, keep: int = 16) -> bytes:
    """The first ``keep`` bytes (magic numbers survive), then noise of the same length."""
    if len(body) <= keep:
        return body
    noise = bytes(rng.getrandbits(8) for _ in range(len(body) - keep))
    return body[:keep] + noise
