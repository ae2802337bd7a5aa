"""Shared HTTP: URL mapping, retry policy, 429 waits, the API pacer, against the sandbox."""

import time

import praw
import pytest
import requests

from emofuse.crawlers import net
from emofuse.crawlers.sandbox.reddit_api import SANDBOX_CREDENTIALS

FAST = net.RetryPolicy(attempts=4, base_s=0.01, max_wait_s=0.05, timeout=(2, 2))


def test_rewrite_url():
    mapping = {"i.redd.it": "http://127.0.0.1:9/_host/i.redd.it"}
    assert net.rewrite_url("https://i.redd.it/a.jpg?x=1", mapping) == (
        "http://127.0.0.1:9/_host/i.redd.it/a.jpg?x=1"
    )
    assert net.rewrite_url("https://other.org/a.jpg", mapping) == "https://other.org/a.jpg"
    assert net.rewrite_url("https://i.redd.it/a.jpg", {}) == "https://i.redd.it/a.jpg"


def test_wait_from_headers():
    assert net.wait_from_headers({"Retry-After": "7"}) == 7.0
    assert net.wait_from_headers({"X-Ratelimit-Reset": "12"}) == 12.0
    assert net.wait_from_headers({"Retry-After": "3", "X-Ratelimit-Reset": "12"}) == 3.0
    assert net.wait_from_headers({}) is None
    date = "Wed, 21 Oct 2099 07:28:00 GMT"
    assert net.wait_from_headers({"Retry-After": date}) > 1e6


def _image_url(sandbox):
    host, path = next(iter(sandbox.world.images))
    return sandbox.host_url(host) + path


def test_get_retries_5xx_then_succeeds(sandbox):
    session = net.make_session()
    sandbox.inject("host.*", "status", status=502, times=3)
    response = net.get(session, _image_url(sandbox), FAST)
    assert response.status_code == 200
    assert sandbox.count("host.*", 502) == 3


def test_get_gives_up_after_bounded_attempts(sandbox):
    session = net.make_session()
    sandbox.inject("host.*", "status", status=503)
    with pytest.raises(net.RetryableHTTPError):
        net.get(session, _image_url(sandbox), FAST)
    assert sandbox.count("host.*", 503) == FAST.attempts


def test_permanent_errors_are_not_retried(sandbox):
    session = net.make_session()
    with pytest.raises(net.PermanentHTTPError) as error:
        net.get(session, sandbox.host_url("i.redd.it") + "/missing.jpg", FAST)
    assert error.value.status == 404
    assert sandbox.count("host.i.redd.it", 404) == 1
    with pytest.raises(net.PermanentHTTPError):
        net.get(session, "file:///etc/passwd", FAST)


def test_429_waits_for_retry_after(sandbox):
    session = net.make_session()
    sandbox.inject("host.*", "ratelimit", times=1, retry_after=1)
    started = time.monotonic()
    assert net.get(session, _image_url(sandbox), FAST).status_code == 200
    assert time.monotonic() - started >= 1.0  # waited what the server asked, not 0.01 s


def test_timeouts_and_resets_are_retried(sandbox):
    session = net.make_session()
    sandbox.inject("host.*", "timeout", times=1, seconds=1.0)
    sandbox.inject("host.*", "reset", times=1, skip=1)
    policy = net.RetryPolicy(attempts=4, base_s=0.01, max_wait_s=0.05, timeout=(1, 0.3))
    assert net.get(session, _image_url(sandbox), policy).status_code == 200


def test_pacer_spreads_calls_over_announced_budget():
    pacer = net.ApiPacer()
    pacer.update({"X-Ratelimit-Remaining": "4", "X-Ratelimit-Reset": "1"})
    started = time.monotonic()
    pacer.wait()
    assert time.monotonic() - started >= 0.2  # 1 s / 4 remaining
    pacer.update({"X-Ratelimit-Remaining": "junk"})  # ignored


def test_call_api_retries_praw_429(sandbox):
    client_id, secret = next(iter(SANDBOX_CREDENTIALS.items()))
    reddit = praw.Reddit(
        client_id=client_id,
        client_secret=secret,
        user_agent="t",
        check_for_updates=False,
        **sandbox.praw_settings(),
    )
    sandbox.inject("reddit.listing", "ratelimit", times=1, retry_after=1)
    posts = net.call_api(lambda: list(reddit.subreddit("happy").top(limit=5)), FAST)
    assert len(posts) == 5
    assert sandbox.count("reddit.listing", 429) == 1


def test_session_has_user_agent():
    session = net.make_session()
    assert "emofuse" in session.headers["User-Agent"]
    assert isinstance(session, requests.Session)
