"""Shared HTTP for every crawler: sessions, retries with backoff, rate limits, host mapping.

- :func:`make_session`: a ``requests.Session`` with our User-Agent and a connection pool sized
  for the download workers.
- :func:`get`: one GET with bounded exponential backoff and jitter (tenacity) for 5xx,
  timeouts and connection resets; a 429 waits for ``Retry-After`` / ``X-Ratelimit-Reset``
  instead; 4xx other than 429 is permanent (:class:`PermanentHTTPError`, not retried).
- :func:`call_api`: the same policy around any API call (PRAW, flickrapi), with a
  :class:`ApiPacer` that spreads calls over the budget the server announces in its
  ``X-Ratelimit-*`` headers.
- :func:`rewrite_url`: maps real hostnames to the sandbox (``SandboxServer.host_map()``);
  with an empty map it changes nothing, which is what a real crawl uses.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from emofuse import __version__

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_USER_AGENT = f"python:emofuse:{__version__} (research dataset crawler)"
# Statuses that mean "try again later"; everything else >= 400 is permanent for that URL.
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524}


@dataclass
class RetryPolicy:
    """How hard to try. ``base_s``/``max_wait_s`` shape the backoff; ``timeout`` is
    (connect, read) seconds per request; ``max_rate_wait_s`` caps a 429 wait."""

    attempts: int = 4
    base_s: float = 0.5
    max_wait_s: float = 30.0
    timeout: tuple[float, float] = (5.0, 20.0)
    max_rate_wait_s: float = 600.0


class RetryableHTTPError(Exception):
    """A 5xx/408/429 answer: worth another try after a wait."""

    def __init__(self, status: int, url: str, wait_s: float | None = None):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.url = url
        self.wait_s = wait_s  # what the server asked for (Retry-After / X-Ratelimit-Reset)


class PermanentHTTPError(Exception):
    """A 4xx answer (not 408/429): the resource is gone or forbidden; do not retry."""

    def __init__(self, status: int, url: str):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.url = url


def make_session(user_agent: str | None = None, pool_size: int = 32) -> requests.Session:
    """A session whose pool keeps ``pool_size`` connections per host (one per worker)."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent or DEFAULT_USER_AGENT
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def rewrite_url(url: str, host_map: dict[str, str] | None) -> str:
    """``https://i.redd.it/a.jpg`` -> ``<host_map['i.redd.it']>/a.jpg``; unmapped: unchanged."""
    if not host_map:
        return url
    parts = urlsplit(url)
    base = host_map.get(parts.hostname or "")
    if base is None:
        return url
    query = f"?{parts.query}" if parts.query else ""
    return f"{base.rstrip('/')}{parts.path or '/'}{query}"


def wait_from_headers(headers: Any, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: ``Retry-After`` (seconds or HTTP date), else
    ``X-Ratelimit-Reset`` (seconds until the window resets, as Reddit sends it)."""
    retry_after = headers.get("Retry-After")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(retry_after)
            if parsed is not None:
                return max(0.0, parsed.timestamp() - (now or time.time()))
    reset = headers.get("X-Ratelimit-Reset")
    if reset:
        try:
            return max(0.0, float(reset))
        except ValueError:
            return None
    return None


def is_transient(error: BaseException) -> bool:
    """Errors worth retrying: 5xx/429, timeouts, resets, truncated bodies."""
    if isinstance(error, RetryableHTTPError):
        return True
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema):
        return False
    if isinstance(error, requests.exceptions.TooManyRedirects):
        return False
    if isinstance(error, requests.RequestException | ConnectionError | TimeoutError):
        return True
    # PRAW/prawcore and flickrapi errors, by what they carry, without importing them here
    status = _status_of(error)
    return status in RETRY_STATUSES if status else False


def is_rate_limited(error: BaseException) -> bool:
    """A 429 answer, from requests, prawcore or our own errors."""
    if isinstance(error, RetryableHTTPError):
        return error.status == 429
    return _status_of(error) == 429


def _status_of(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if status is None:
        status = getattr(response, "status", None)
    return int(status) if isinstance(status, int) else None


def _headers_of(error: BaseException) -> Any:
    response = getattr(error, "response", None)
    return getattr(response, "headers", None) or {}


class _Wait:
    """tenacity wait: the server's own wait for 429s, else exponential backoff with jitter."""

    def __init__(self, policy: RetryPolicy, rng: random.Random | None = None):
        self.policy = policy
        self.rng = rng or random.Random()

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = None
        if isinstance(error, RetryableHTTPError):
            asked = error.wait_s
        elif error is not None and _status_of(error) == 429:
            asked = wait_from_headers(_headers_of(error))
        if asked is not None:
            # a small jitter so that many clients do not come back in the same instant
            return min(asked, self.policy.max_rate_wait_s) + self.rng.uniform(0, 0.1)
        ceiling = min(self.policy.max_wait_s, self.policy.base_s * 2 ** (state.attempt_number - 1))
        return self.rng.uniform(ceiling / 2, ceiling)  # "equal jitter"


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.debug("retry %d after %s", state.attempt_number, type(error).__name__)


def retrying(
    policy: RetryPolicy, retry_if: Callable[[BaseException], bool] = is_transient
) -> Retrying:
    return Retrying(
        retry=retry_if_exception(retry_if),
        wait=_Wait(policy),
        stop=stop_after_attempt(policy.attempts),
        before_sleep=_log_retry,
        reraise=True,
    )


def check_status(response: requests.Response) -> requests.Response:
    """Raise the right error type for a non-2xx answer; return the response otherwise."""
    status = response.status_code
    if status < 400:
        return response
    if status in RETRY_STATUSES:
        raise RetryableHTTPError(
            status, response.url, wait_from_headers(response.headers) if status == 429 else None
        )
    raise PermanentHTTPError(status, response.url)


def get(
    session: requests.Session,
    url: str,
    policy: RetryPolicy | None = None,
    read: Callable[[requests.Response], T] | None = None,
    **kwargs: Any,
) -> T | requests.Response:
    """GET with retries. ``read(response)`` consumes the body inside the retry loop, so a
    truncated or reset body is retried too; without it the body is read eagerly."""
    policy = policy or RetryPolicy()
    if urlsplit(url).scheme not in ("http", "https"):
        raise PermanentHTTPError(0, url)
    for attempt in retrying(policy):
        with attempt:
            response = session.get(url, timeout=policy.timeout, stream=read is not None, **kwargs)
            try:
                check_status(response)
                if read is None:
                    _ = response.content
                    return response
                return read(response)
            finally:
                if read is not None:
                    response.close()
    raise AssertionError("unreachable")  # tenacity either returns or re-raises


class ApiPacer:
    """Spreads sequential API calls over the budget the server announces.

    After each answer, :meth:`update` reads ``X-Ratelimit-Remaining`` and
    ``X-Ratelimit-Reset``; :meth:`wait` then keeps calls at least ``reset / remaining``
    seconds apart (and waits the whole reset when nothing remains), plus ``min_interval_s``.
    """

    def __init__(self, min_interval_s: float = 0.0):
        self.min_interval_s = min_interval_s
        self._next_at = 0.0
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def update(self, headers: Any) -> None:
        try:
            remaining = float(headers.get("X-Ratelimit-Remaining"))
            reset = float(headers.get("X-Ratelimit-Reset"))
        except (TypeError, ValueError):
            return
        with self._lock:
            now = time.monotonic()
            interval = reset if remaining < 1 else reset / remaining
            self._next_at = max(self._next_at, now + max(interval, self.min_interval_s))

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_at)  # when this call may go
            delay = start - now
            # the next call waits min_interval after *this* call, not after now: calls that
            # queue up behind a wait would otherwise go out back to back
            self._next_at = start + self.min_interval_s
        if delay > 0:
            self.waited_s += delay
            time.sleep(delay)


def call_api(
    call: Callable[[], T],
    policy: RetryPolicy | None = None,
    pacer: ApiPacer | None = None,
    retry_if: Callable[[BaseException], bool] = is_transient,
) -> T:
    """Run an API call (e.g. fetching one PRAW listing page) with the retry policy.

    A 429 waits what the server asked (Retry-After / X-Ratelimit-Reset); 5xx, timeouts and
    resets back off exponentially with jitter; anything else is raised at once. ``retry_if``
    narrows what is retried, e.g. :func:`is_rate_limited` for a client that already retries
    5xx itself (prawcore does).
    """
    policy = policy or RetryPolicy()
    for attempt in retrying(policy, retry_if):
        with attempt:
            if pacer is not None:
                pacer.wait()
            return call()
    raise AssertionError("unreachable")
