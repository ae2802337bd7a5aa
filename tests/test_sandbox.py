"""The sandbox server: routing, virtual hosts, fault injection, rate limits, real PRAW."""

import io
import json

import praw
import prawcore
import pytest
import requests
from PIL import Image

from emofuse.crawlers.sandbox.reddit_api import SANDBOX_CREDENTIALS
from emofuse.crawlers.sandbox.server import Response, SandboxServer
from emofuse.crawlers.sandbox.world import DEFAULT_KIND_WEIGHTS, World

CLIENT_ID, CLIENT_SECRET = next(iter(SANDBOX_CREDENTIALS.items()))


def reddit_for(server: SandboxServer, **overrides) -> praw.Reddit:
    settings = dict(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        user_agent="emofuse-tests",
        check_for_updates=False,
        **server.praw_settings(),
    )
    settings.update(overrides)
    return praw.Reddit(**settings)


def test_world_is_deterministic_and_has_every_kind():
    first = World.generate(seed=3, posts_per_subreddit=20)
    second = World.generate(seed=3, posts_per_subreddit=20)
    assert first.posts == second.posts
    kinds = {first.kind_of(i) for i in first.by_subreddit["happy"]}
    assert kinds == set(DEFAULT_KIND_WEIGHTS)
    assert World.generate(seed=4, posts_per_subreddit=20).posts != first.posts


def test_image_blobs_are_real_in_their_format(sandbox):
    world = sandbox.world
    seen = {}
    for (host, path), spec in world.images.items():
        if spec.fmt in seen:
            continue
        response = requests.get(sandbox.host_url(host) + path, timeout=5)
        assert response.status_code == 200
        image = Image.open(io.BytesIO(response.content))
        seen[spec.fmt] = image
        assert response.headers["Content-Type"] == f"image/{spec.fmt}"
    assert set(seen) == {"jpeg", "png", "gif", "webp"}
    assert seen["png"].mode == "RGBA" and seen["png"].getpixel((0, 0))[3] == 0
    assert getattr(seen["gif"], "n_frames", 1) == 2


def test_praw_lists_pages_and_refuses_banned_and_private(make_sandbox):
    server = make_sandbox(
        seed=1, posts_per_subreddit=250, states={"gore": "banned", "rage": "private"}
    )
    reddit = reddit_for(server)
    posts = list(reddit.subreddit("happy").top(time_filter="all", limit=None))
    assert len(posts) == 250
    assert len({p.id for p in posts}) == 250
    scores = [p.score for p in posts]
    assert scores == sorted(scores, reverse=True)
    # 100 a page: 3 listing requests for 250 posts
    assert server.count("reddit.listing", 200) == 3
    with pytest.raises(prawcore.exceptions.NotFound) as banned:
        list(reddit.subreddit("gore").top(limit=5))
    assert json.loads(banned.value.response.text)["reason"] == "banned"
    with pytest.raises(prawcore.exceptions.Forbidden):
        list(reddit.subreddit("rage").top(limit=5))
    with pytest.raises(prawcore.exceptions.Redirect):
        list(reddit.subreddit("nosuchsub").top(limit=5))


def test_listing_cap_and_time_filter(make_sandbox):
    server = make_sandbox(seed=2, posts_per_subreddit=60, listing_cap=40)
    reddit = reddit_for(server)
    assert len(list(reddit.subreddit("happy").top(time_filter="all", limit=None))) == 40
    year = list(reddit.subreddit("happy").top(time_filter="year", limit=None))
    assert 0 < len(year) < 40
    new = list(reddit.subreddit("happy").new(limit=None))
    assert [p.created_utc for p in new] == sorted((p.created_utc for p in new), reverse=True)


def test_info_comments_and_search(sandbox):
    reddit = reddit_for(sandbox)
    ids = sandbox.world.by_subreddit["creepy"][:5]
    infos = list(reddit.info(fullnames=[f"t3_{i}" for i in ids]))
    assert [p.id for p in infos] == ids
    submission = reddit.submission(ids[0])
    assert submission.title == sandbox.world.posts[ids[0]]["title"]
    word = sandbox.world.posts[ids[1]]["title"].split()[0]
    found = list(reddit.subreddit("creepy").search(word, sort="top", limit=None))
    assert ids[1] in {p.id for p in found}


def test_rejected_credentials(sandbox):
    reddit = reddit_for(sandbox, client_secret="wrong-secret")
    with pytest.raises((prawcore.exceptions.OAuthException, prawcore.exceptions.ResponseException)):
        list(reddit.subreddit("happy").top(limit=1))
    assert sandbox.count("reddit.token", 401) >= 1


def test_faults_first_n_then_normal(sandbox):
    host, path = next(iter(sandbox.world.images))
    url = sandbox.host_url(host) + path
    sandbox.inject(f"host.{host}", "status", status=503, times=2)
    codes = [requests.get(url, timeout=5).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    sandbox.inject("host.*", "ratelimit", times=1, retry_after=3)
    limited = requests.get(url, timeout=5)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.headers["X-Ratelimit-Remaining"] == "0.0"
    assert sandbox.count(f"host.{host}", 503) == 2
    assert sandbox.count("host.*", 429) == 1


def test_truncate_corrupt_reset_timeout(sandbox):
    host, path = next(iter(sandbox.world.images))
    url = sandbox.host_url(host) + path
    whole = requests.get(url, timeout=5).content
    sandbox.inject("host.*", "truncate", times=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, timeout=5)
    sandbox.inject("host.*", "corrupt", times=1)
    corrupt = requests.get(url, timeout=5).content
    assert len(corrupt) == len(whole) and corrupt[:16] == whole[:16] and corrupt != whole
    sandbox.inject("host.*", "reset", times=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, timeout=5)
    sandbox.inject("host.*", "timeout", times=1, seconds=1.0)
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(url, timeout=0.3)
    assert requests.get(url, timeout=5).content == whole


def test_enforced_rate_limit_announces_budget(sandbox):
    sandbox.enforce_rate_limit(limit=3, window_s=30, routes="host.*")
    host, path = next(iter(sandbox.world.images))
    answers = [requests.get(sandbox.host_url(host) + path, timeout=5) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-Ratelimit-Remaining"] for a in answers[:3]] == ["2.0", "1.0", "0.0"]
    assert int(answers[3].headers["Retry-After"]) >= 1


def test_imgur_removed_redirects_to_placeholder(sandbox):
    path = next(iter(sandbox.world.imgur_removed))
    response = requests.get(sandbox.host_url("i.imgur.com") + path, timeout=5)
    assert response.history and response.history[0].status_code == 302
    assert response.url.endswith("/removed.png")
    assert Image.open(io.BytesIO(response.content)).size == (161, 81)


def test_other_modules_register_routes():
    server = SandboxServer()

    def hello(request, match):
        return Response.json({"who": match.group("who"), "q": request.arg("q")})

    server.add_host_route("api.example.org", "GET", r"/hello/(?P<who>\w+)", hello, name="x.hi")
    with server:
        assert "api.example.org" in server.host_map()
        answer = requests.get(server.host_map()["api.example.org"] + "/hello/bob?q=1", timeout=5)
        assert answer.json() == {"who": "bob", "q": "1"}
        assert requests.get(server.url + "/nothing", timeout=5).status_code == 404
        assert server.count("x.hi", 200) == 1 and server.count("unrouted", 404) == 1


def test_dead_host_refuses_connections(sandbox):
    base = sandbox.host_map()["deadhost.example.net"]
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(base + "/x.jpg", timeout=2)


def test_default_listing_cap_is_1000(make_sandbox):
    server = make_sandbox(
        seed=4, posts_per_subreddit=1050, subreddits={"happy": "joy"}, kind_weights={"self": 1}
    )
    posts = list(reddit_for(server).subreddit("happy").top(time_filter="all", limit=None))
    assert len(posts) == 1000 and len({p.id for p in posts}) == 1000
    assert server.count("reddit.listing", 200) == 10  # 100 a page


def test_fault_limited_to_a_path(sandbox):
    sandbox.inject("reddit.listing", "status", status=404, path="^/r/rage/")
    reddit = reddit_for(sandbox)
    assert len(list(reddit.subreddit("happy").top(limit=3))) == 3
    with pytest.raises(prawcore.exceptions.NotFound):
        list(reddit.subreddit("rage").top(limit=3))
