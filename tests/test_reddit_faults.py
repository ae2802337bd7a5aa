"""`emofuse crawl reddit` through every fault the sandbox can inject, on the Reddit API and on
the image hosts, with credentials distinctive enough to be found wherever they leak."""

import time

import test_reddit
from PIL import Image
from test_reddit import run_cli

from emofuse.crawlers.store import CrawlStore
from emofuse.paths import store_path

# Values found nowhere else: any occurrence in output or files is a leak.
CLIENT_ID = "Kq3distinctiveClientId"
CLIENT_SECRET = "Zx7-distinctive-secret-4417"


def point_at(monkeypatch, server):
    server.reddit_credentials = {CLIENT_ID: CLIENT_SECRET}
    test_reddit.point_at(monkeypatch, server, CLIENT_SECRET, CLIENT_ID)


def assert_no_secret(text, data_dir):
    for secret in (CLIENT_ID, CLIENT_SECRET):
        assert secret not in text
        for path in data_dir.rglob("*"):
            if path.is_file():  # the store, its WAL, the images, the salt...
                assert secret.encode() not in path.read_bytes(), path


def test_every_fault_kind_is_survived_and_no_secret_leaks(
    make_sandbox, data_dir, monkeypatch, capsys
):
    server = make_sandbox(
        seed=31,
        posts_per_subreddit=120,  # two listing pages a subreddit
        subreddits={"happy": "joy", "creepy": "fear"},
        kind_weights={"ireddit_jpeg": 1},  # one image a post
    )
    point_at(monkeypatch, server)
    # Each fault hits one request; `skip` spaces them so that every failed request is
    # followed by a good retry (prawcore gives up after three failures in a row).
    faults = [
        server.inject("reddit.about", "ratelimit", times=1, retry_after=1),
        server.inject("reddit.about", "latency", times=1, skip=1, seconds=0.3),
        server.inject("reddit.listing", "reset", times=1),
        server.inject("reddit.listing", "truncate", times=1, skip=2),
        server.inject("reddit.listing", "timeout", times=1, skip=4, seconds=2.5),
        server.inject("reddit.listing", "status", status=502, times=1, skip=6),
        server.inject("reddit.listing", "corrupt", times=1, skip=7),  # the 502's retry
        server.inject("host.*", "status", status=503, times=1),
        server.inject("host.*", "ratelimit", times=1, skip=2, retry_after=1),
        server.inject("host.*", "timeout", times=1, skip=4, seconds=2.5),
        server.inject("host.*", "truncate", times=1, skip=6),
        server.inject("host.*", "corrupt", times=1, skip=8),
        server.inject("host.*", "reset", times=1, skip=10),
        server.inject("host.*", "latency", times=1, skip=12, seconds=0.3),
    ]
    args = ["crawl", "reddit", "--data", str(data_dir), "--workers", "1", "--retries", "3"]
    code = run_cli([*args, "--backoff", "0.01", "--timeout", "1", "--verbose"])
    output = capsys.readouterr()
    assert code == 0, output.err[-2000:]
    for fault in faults:
        assert fault.hits == 1, fault  # every kind really happened
    assert server.count("reddit.*", 429) == 1 and server.count("host.*", 429) == 1
    # one retry per failed request, and no image fetched twice
    assert server.count("reddit.listing") == 4 + 5
    # a timed-out request is counted when the sandbox wakes up, maybe after the crawl ended
    deadline = time.monotonic() + 5
    while server.count("host.*") < 240 + 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.count("host.*") == 240 + 6
    with CrawlStore(store_path(data_dir, "reddit")) as store:
        assert store.count_posts() == 240 and store.count_posts(status="ok") == 240
        rows = store.images()
        assert len(rows) == 240 and all(row["status"] == "ok" for row in rows)
        for row in rows:
            with Image.open(data_dir / row["path"]) as image:
                image.load()  # no truncated or corrupt body was stored
    assert_no_secret(output.out + output.err, data_dir)


def test_rejected_credentials_never_show_the_secret(sandbox, data_dir, monkeypatch, capsys):
    point_at(monkeypatch, sandbox)
    sandbox.reddit_credentials = {CLIENT_ID: "the-secret-the-server-expects"}
    for extra in ([], ["--verbose"]):
        assert run_cli(["crawl", "reddit", "--data", str(data_dir), *extra]) == 2
        output = capsys.readouterr()
        assert "Reddit rejected the credentials (HTTP 401)" in output.err
        assert_no_secret(output.out + output.err, data_dir.parent)
        if not extra:
            assert len(output.err.strip().splitlines()) == 1
    assert sandbox.count("reddit.token", 401) == 2
    assert sandbox.count("reddit.listing") == 0  # stopped before any crawl request
    assert not data_dir.exists()
