"""`emofuse crawl reddit` end to end against the sandbox: real PRAW, real SQLite, real images."""

import json
import subprocess
import sys
from collections import Counter

import pytest
from PIL import Image

from emofuse.cli import main
from emofuse.crawlers.reddit import classify
from emofuse.crawlers.sandbox.reddit_api import SANDBOX_CREDENTIALS, crawl_environment
from emofuse.crawlers.sandbox.world import World
from emofuse.crawlers.store import CrawlStore
from emofuse.paths import store_path

CLIENT_ID, CLIENT_SECRET = next(iter(SANDBOX_CREDENTIALS.items()))
FAST = ["--backoff", "0.01", "--retries", "3", "--workers", "4"]


def point_at(monkeypatch, server, secret=CLIENT_SECRET, client_id=CLIENT_ID):
    """Point `emofuse crawl reddit` at the sandbox ``server`` through the environment."""
    environment = crawl_environment(server, (client_id, secret), user_agent="emofuse-tests")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "200")


def run_cli(args):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return exit_info.value.code


def crawl(data_dir, *args):
    """`emofuse crawl reddit --data DATA_DIR ARGS` with quick retries; its exit code."""
    return run_cli(["crawl", "reddit", "--data", str(data_dir), *args, *FAST])


def test_classify_agrees_with_the_world():
    world = World.generate(seed=11, posts_per_subreddit=60)
    checked = Counter()
    for subreddit in ("happy", "creepy", "rage", "gore"):
        for post_id in world.by_subreddit[subreddit]:
            expected = world.expected[post_id]
            found = classify(world.public_post(post_id))
            assert found.kind == expected.kind, world.kind_of(post_id)
            if expected.status == "skipped":
                assert found.status == "skipped" and found.reason == expected.reason
            elif expected.kind == "gallery":
                assert len(found.urls) == expected.images
                assert found.skipped_items == expected.skipped_items
            checked[expected.kind] += 1
    assert set(checked) == {"image", "gallery", "album", "crosspost", "video", "self", "link"}


def test_crawl_stores_every_kind_as_the_world_says(make_sandbox, data_dir, monkeypatch, capsys):
    server = make_sandbox(
        seed=5, posts_per_subreddit=30, states={"gore": "banned", "rage": "private"}
    )
    point_at(monkeypatch, server)
    code = crawl(data_dir)
    output = capsys.readouterr()
    text = output.out + output.err
    assert code == 0, text
    assert "r/gore is banned" in text and "r/rage is private" in text
    assert "image posts" in text and "from preview" in text  # the summary table
    world = server.world
    store = CrawlStore(store_path(data_dir, "reddit"))
    for subreddit, label in (("happy", "joy"), ("creepy", "fear")):
        for post_id in world.by_subreddit[subreddit]:
            expected = world.expected[post_id]
            post = store.post(f"reddit:{post_id}")
            assert post is not None and post["label"] == label and post["kind"] == expected.kind
            images = store.images(post["post_id"])
            ok = [row for row in images if row["status"] == "ok"]
            assert len(ok) == expected.images, (world.kind_of(post_id), images)
            if expected.status == "skipped":
                assert post["status"] == "skipped" and post["reason"] == expected.reason
            else:
                assert post["status"] == "ok"
            if expected.fallback:
                assert ok[0]["reason"].startswith("preview_fallback:")
                assert "preview.redd.it" in ok[0]["source_url"]
            for row in ok:
                image = Image.open(data_dir / row["path"])
                assert image.format == "JPEG" and image.mode == "RGB"
            raw = world.posts[post_id]
            assert post["author_hash"] and post["author_hash"] != raw["author"]
            assert post["rank"] == raw["score"]
    assert store.count_posts(community="rage") == 0 and store.count_posts(community="gore") == 0
    # a gallery keeps gallery_data order: idx follows the valid items in that order
    gallery = next(i for i in world.by_subreddit["happy"] if world.kind_of(i) == "gallery")
    meta = world.posts[gallery]["media_metadata"]
    order = [
        it["media_id"]
        for it in world.posts[gallery]["gallery_data"]["items"]
        if meta[it["media_id"]]["status"] == "valid"
    ]
    stored = [row["source_url"] for row in store.images(f"reddit:{gallery}")]
    assert [next(m for m in order if m in url) for url in stored] == order
    store.close()
    # no secret and no raw author in the store file, the salt file is private
    blob = store_path(data_dir, "reddit").read_bytes()
    assert CLIENT_SECRET.encode() not in blob
    assert world.posts[gallery]["author"].encode() not in blob
    assert (data_dir / ".salt").stat().st_mode & 0o777 == 0o600
    assert CLIENT_SECRET not in text


def test_min_upvotes_and_top_up(make_sandbox, data_dir, monkeypatch):
    server = make_sandbox(
        seed=7, posts_per_subreddit=120, listing_cap=40, subreddits={"happy": "joy"}
    )
    point_at(monkeypatch, server)
    world = server.world
    code = crawl(data_dir, "--subreddit", "happy=joy", "--min-upvotes", "100")
    assert code == 0
    store = CrawlStore(store_path(data_dir, "reddit"))
    first = {p["post_id"] for p in store.posts()}
    assert first and all(p["rank"] >= 100 for p in store.posts())
    eligible = [i for i in world.by_subreddit["happy"] if world.posts[i]["score"] >= 100]
    assert len(first) < len(eligible)  # the listing cap hid some: what --top-up is for
    code = crawl(data_dir, "--subreddit", "happy=joy", "--min-upvotes", "100", "--top-up", "1000")
    assert code == 0
    after = store.posts()
    ids = [p["post_id"] for p in after]
    assert len(ids) == len(set(ids)) and first <= set(ids)
    assert len(ids) > len(first)
    assert all(p["rank"] >= 100 for p in after)
    listings = {row["listing"] for row in store.conn.execute("SELECT listing FROM cursors")}
    assert "happy:new" in listings and "happy:top:year" in listings
    store.close()


def test_nsfw_skip(make_sandbox, data_dir, monkeypatch, capsys):
    server = make_sandbox(
        seed=8, posts_per_subreddit=8, subreddits={"happy": "joy", "gore": "disgust"}
    )
    point_at(monkeypatch, server)
    code = crawl(
        data_dir, "--subreddit", "happy=joy", "--subreddit", "gore=disgust", "--nsfw", "skip"
    )
    assert code == 0
    assert "r/gore is NSFW" in capsys.readouterr().err
    with CrawlStore(store_path(data_dir, "reddit")) as store:
        assert store.count_posts(community="gore") == 0
        assert store.count_posts(community="happy") == 8


def test_api_429_and_5xx_are_survived_with_zero_429_under_enforced_limit(
    make_sandbox, data_dir, monkeypatch
):
    server = make_sandbox(
        seed=9,
        posts_per_subreddit=150,
        subreddits={"happy": "joy", "creepy": "fear"},
        kind_weights={"ireddit_jpeg": 1},
    )
    point_at(monkeypatch, server)
    server.inject("reddit.listing", "status", status=503, times=1)
    server.inject("reddit.listing", "ratelimit", times=1, skip=2, retry_after=1)
    code = crawl(
        data_dir, "--subreddit", "happy=joy", "--subreddit", "creepy=fear", "--limit", "120"
    )
    assert code == 0
    with CrawlStore(store_path(data_dir, "reddit")) as store:
        assert store.count_posts() == 240 and store.count_posts(status="ok") == 240
    # now the sandbox enforces a budget announced in its headers: PRAW follows them
    server.clear_faults()
    server.reset_counts()
    server.enforce_rate_limit(limit=4, window_s=1.0, routes="reddit.*")
    code = crawl(data_dir / "second", "--subreddit", "happy=joy", "--subreddit", "creepy=fear")
    assert code == 0
    assert server.count("reddit.*", 200) >= 6
    assert server.count("*", 429) == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--subreddit", "happy"], "NAME=EMOTION"),
        (["--time-filter", "decade"], "--time-filter"),
        (["--limit", "5000"], "--limit"),
        (["--host-map", "{not json"], "--host-map"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_bad_flags_exit_2_before_writing(args, message, data_dir, capsys, monkeypatch):
    monkeypatch.delenv("EMOFUSE_HOST_MAP", raising=False)
    assert run_cli(["crawl", "reddit", "--data", str(data_dir), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not data_dir.exists()


def test_missing_and_rejected_credentials(sandbox, data_dir, capsys, monkeypatch):
    for name in ("praw_client_id", "praw_client_secret", "praw_user_agent"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(data_dir.parent / "no-config"))
    monkeypatch.chdir(data_dir.parent)
    assert run_cli(["crawl", "reddit", "--data", str(data_dir)]) == 2
    assert "praw_client_id" in capsys.readouterr().err
    point_at(monkeypatch, sandbox, secret="a-wrong-secret-value")
    assert run_cli(["crawl", "reddit", "--data", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert "rejected" in err and "a-wrong-secret-value" not in err
    assert len(err.strip().splitlines()) == 1
    assert not data_dir.exists()


def test_praw_ini_site_in_a_real_process(make_sandbox, tmp_path):
    server = make_sandbox(seed=12, posts_per_subreddit=5, subreddits={"happy": "joy"})
    (tmp_path / "praw.ini").write_text(
        f"[sandbox]\nclient_id={CLIENT_ID}\nclient_secret={CLIENT_SECRET}\n"
        f"user_agent=emofuse tests\noauth_url={server.url}\nreddit_url={server.url}\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "COLUMNS": "200",
        "EMOFUSE_HOST_MAP": json.dumps(server.host_map()),
    }
    command = [
        sys.executable,
        "-m",
        "emofuse.cli",
        "crawl",
        "reddit",
        "--data",
        str(tmp_path / "d"),
        "--subreddit",
        "happy=joy",
        *FAST,
    ]
    done = subprocess.run(
        [*command, "--site", "sandbox", "--verbose"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with CrawlStore(store_path(tmp_path / "d", "reddit")) as store:
        assert store.count_posts(community="happy") == 5
    missing = subprocess.run(
        [*command, "--site", "nosuchsite"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and "nosuchsite" in missing.stderr
    assert CLIENT_SECRET not in done.stdout + done.stderr


def test_a_failing_listing_is_reported_and_the_crawl_goes_on(
    make_sandbox, data_dir, monkeypatch, capsys
):
    server = make_sandbox(
        seed=13, posts_per_subreddit=6, subreddits={"happy": "joy", "rage": "anger"}
    )
    point_at(monkeypatch, server)
    server.inject("reddit.listing", "status", status=500, path="^/r/rage/")
    code = crawl(data_dir, "--subreddit", "rage=anger", "--subreddit", "happy=joy")
    assert code == 0
    err = capsys.readouterr().err
    assert "r/rage: listing stopped (HTTP 500)" in err
    with CrawlStore(store_path(data_dir, "reddit")) as store:
        assert store.count_posts(community="happy") == 6
        assert store.count_posts(community="rage") == 0
    # the server recovers: the same command finishes r/rage
    server.clear_faults()
    assert crawl(data_dir, "--subreddit", "rage=anger", "--subreddit", "happy=joy") == 0
    with CrawlStore(store_path(data_dir, "reddit")) as store:
        assert store.count_posts(community="rage") == 6


def test_imgur_album_without_client_id_keeps_the_first_image(make_sandbox, data_dir, monkeypatch):
    server = make_sandbox(
        seed=14, posts_per_subreddit=3, subreddits={"happy": "joy"}, kind_weights={"imgur_album": 1}
    )
    point_at(monkeypatch, server)
    monkeypatch.delenv("IMGUR_CLIENT_ID")
    assert crawl(data_dir, "--subreddit", "happy=joy") == 0
    world = server.world
    with CrawlStore(store_path(data_dir, "reddit")) as store:
        for post_id in world.by_subreddit["happy"]:
            album = world.posts[post_id]["url"].rsplit("/", 1)[1]
            rows = store.images(f"reddit:{post_id}")
            assert [row["source_url"] for row in rows] == world.imgur_albums[album][:1]
            assert rows[0]["status"] == "ok"
    assert server.count("host.api.imgur.com") == 0


def test_links_without_post_hint_are_decided_by_content_type(make_sandbox, data_dir, monkeypatch):
    server = make_sandbox(
        seed=15,
        posts_per_subreddit=6,
        subreddits={"happy": "joy"},
        kind_weights={"unhinted_image": 1, "unhinted_link": 1},
    )
    point_at(monkeypatch, server)
    assert crawl(data_dir, "--subreddit", "happy=joy") == 0
    world = server.world
    kinds = Counter()
    with CrawlStore(store_path(data_dir, "reddit")) as store:
        for post_id in world.by_subreddit["happy"]:
            expected = world.expected[post_id]
            post = store.post(f"reddit:{post_id}")
            assert (post["kind"], post["status"]) == (expected.kind, expected.status)
            ok = [row for row in store.images(post["post_id"]) if row["status"] == "ok"]
            assert len(ok) == expected.images
            kinds[world.kind_of(post_id)] += 1
    assert set(kinds) == {"unhinted_image", "unhinted_link"}


def test_top_up_stops_at_n_distinct_posts_when_listings_overlap(
    make_sandbox, data_dir, monkeypatch, capsys
):
    server = make_sandbox(
        seed=17,
        posts_per_subreddit=150,
        listing_cap=30,
        subreddits={"happy": "joy"},
        kind_weights={"ireddit_jpeg": 1},  # every post is an image post
    )
    point_at(monkeypatch, server)
    assert crawl(data_dir, "--subreddit", "happy=joy", "--min-upvotes", "10") == 0
    with CrawlStore(store_path(data_dir, "reddit")) as store:
        first = store.count_posts()
    wanted = first + 12
    capsys.readouterr()
    assert (
        crawl(data_dir, "--subreddit", "happy=joy", "--min-upvotes", "10", "--top-up", str(wanted))
        == 0
    )
    text = capsys.readouterr().err
    # the top-up listings repeat posts already stored: they are seen, not counted again,
    # so the walk stops at exactly `wanted` distinct image posts (a post counted twice
    # would stop it short)
    assert "listed again" in text
    with CrawlStore(store_path(data_dir, "reddit")) as store:
        assert store.count_posts() == wanted
        assert store.count_posts(status="ok") == wanted
        assert all(post["rank"] >= 10 for post in store.posts())
