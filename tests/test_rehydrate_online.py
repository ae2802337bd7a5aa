"""`emofuse crawl rehydrate --from RELEASE`: re-fetch a release through PRAW and flickrapi
from the sandbox; what is gone is marked with its reason."""

import json

import praw
import pytest

from emofuse.cli import main
from emofuse.crawlers import net
from emofuse.crawlers.flickr import FlickrCredentials
from emofuse.crawlers.rehydrate import OnlineOptions, rehydrate
from emofuse.crawlers.sandbox.flickr_world import (
    SANDBOX_FLICKR_KEY,
    SANDBOX_FLICKR_SECRET,
    add_flickr_photos,
    expected_outcome,
)
from emofuse.crawlers.sandbox.reddit_api import SANDBOX_CREDENTIALS, crawl_environment
from emofuse.crawlers.sandbox.world import World
from emofuse.crawlers.store import CrawlStore
from emofuse.errors import UserError
from emofuse.paths import store_path

CLIENT_ID, CLIENT_SECRET = next(iter(SANDBOX_CREDENTIALS.items()))
FAST = net.RetryPolicy(attempts=3, base_s=0.02, max_wait_s=0.1, timeout=(2.0, 5.0))


def make_reddit(server):
    return praw.Reddit(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        user_agent="emofuse-tests",
        oauth_url=server.url,
        reddit_url=server.url,
        check_for_updates=False,
        check_for_async=False,
    )


def online(server, policy=FAST, **kwargs):
    return OnlineOptions(
        make_reddit=lambda: make_reddit(server),
        make_flickr_credentials=lambda: FlickrCredentials(
            SANDBOX_FLICKR_KEY, SANDBOX_FLICKR_SECRET
        ),
        host_map=server.host_map(),
        workers=4,
        imgur_client_id="sandbox",
        calls_per_hour=1e7,
        policy=policy,
        **kwargs,
    )


@pytest.fixture
def world_server(make_sandbox):
    world = World.generate(seed=21, posts_per_subreddit=30)
    add_flickr_photos(world, count=8, seed=4)
    return make_sandbox(world)


def write_ids_only(path, rows):
    """The ids-only layout of `emofuse release --ids-only` (data/<split>.csv)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["post_id,source,native_id,label,rank,votes_agree,votes_total,split"]
    for post_id, label, rank in rows:
        source, native = post_id.split(":")
        lines.append(f"{post_id},{source},{native},{label},{rank},,,test")
    path.write_text("\n".join(lines) + "\n")


def test_ids_only_release_is_rehydrated_from_the_sandbox(world_server, tmp_path):
    world = world_server.world
    reddit_ids = sorted(world.expected)  # the listed posts (not crosspost parents)
    # the world changed since the release: one post removed by a moderator, one deleted
    removed, deleted = reddit_ids[0], reddit_ids[1]
    world.posts[removed]["removed_by_category"] = "moderator"
    world.posts[deleted]["removed_by_category"] = "deleted"
    label = {name: sub.label for name, sub in world.subreddits.items()}
    rows = [(f"reddit:{i}", label[world.posts[i]["subreddit"]], 1) for i in reddit_ids]
    rows += [("reddit:zzzzz1", "joy", 1), ("reddit:zzzzz2", "fear", 1)]  # never existed
    rows += [(f"flickr:{p}", r["label"], r["votes_agree"]) for p, r in world.flickr_photos.items()]
    release = tmp_path / "release"
    write_ids_only(release / "data" / "test.csv", rows)
    data = tmp_path / "data"

    summary = rehydrate(release, data, online=online(world_server))

    n_reddit = len(reddit_ids) + 2
    assert summary.requested == n_reddit + len(world.flickr_photos)
    # 100 fullnames per /api/info request
    assert world_server.count("reddit.info") == -(-n_reddit // 100) == 2
    with CrawlStore(store_path(data, "reddit")) as store:
        assert store.count_posts() == n_reddit
        assert store.post("reddit:zzzzz1")["reason"] == "not_found"
        assert (store.post(f"reddit:{removed}")["status"], store.post(f"reddit:{removed}")[
            "reason"]) == ("gone", "removed")  # fmt: skip
        assert store.post(f"reddit:{deleted}")["reason"] == "deleted"
        for native in reddit_ids[2:]:
            post = store.post(f"reddit:{native}")
            expected = world.expected[native]
            current = world.posts[native]
            assert post["extra"]["current_title"] == current["title"]
            assert post["extra"]["current_score"] == current["score"]
            assert post["title"] == current["title"]  # ids only: filled from the current post
            assert post["kind"] == expected.kind, native
            if expected.status == "skipped":
                assert post["status"] == "skipped"
                assert post["reason"].startswith("no_image:")
            else:
                assert post["status"] == "ok", (native, expected, post["reason"])
                assert len(store.images(post["post_id"], status="ok")) == expected.images
    with CrawlStore(store_path(data, "flickr")) as store:
        for photo_id, record in world.flickr_photos.items():
            post = store.post(f"flickr:{photo_id}")
            expected = expected_outcome(record)
            assert (post["status"], post["reason"]) == (expected["status"], expected["reason"])
    gone = summary.gone
    assert gone["not_found"] == 2 and gone["removed"] == 1 and gone["deleted"] == 1
    assert gone["flickr_error_1"] == sum(
        expected_outcome(r)["reason"] == "flickr_error_1" for r in world.flickr_photos.values()
    )
    assert summary.pending == 0 and not summary.failed

    # a second run asks Reddit nothing more and downloads nothing
    again = rehydrate(release, data, online=online(world_server))
    assert world_server.count("reddit.info") == 2
    assert again.images_stored == 0 and again.fetched == summary.fetched


def test_published_title_and_score_kept_beside_the_current_ones(world_server, tmp_path):
    world = world_server.world
    happy = [i for i in sorted(world.posts) if world.posts[i]["subreddit"] == "happy"][:5]
    lines = ["id,name,url,ups,downs,created_utc,title,permalink,subreddit,num_comments,author"]
    for n, native in enumerate(happy):
        post = world.posts[native]
        lines.append(
            f"{native},t3_{native},{post['url']},{1000 + n},0,{post['created_utc']},"
            f"Published title {n},https://www.reddit.com{post['permalink']},happy,3,someone"
        )
    release = tmp_path / "processed_happy.csv"
    release.write_text("\n".join(lines) + "\n")
    data = tmp_path / "data"
    # first text-only, then online: the text-only rows are looked up too
    rehydrate(release, data, images=False)
    summary = rehydrate(release, data, online=online(world_server))
    assert summary.requested == 5 and world_server.count("reddit.info") == 1
    with CrawlStore(store_path(data, "reddit")) as store:
        for n, native in enumerate(happy):
            post = store.post(f"reddit:{native}")
            assert post["title"] == f"Published title {n}" and post["rank"] == 1000 + n
            assert post["extra"]["published_title"] == f"Published title {n}"
            assert post["extra"]["published_score"] == 1000 + n
            assert post["extra"]["current_title"] == world.posts[native]["title"]
            assert post["extra"]["current_score"] == world.posts[native]["score"]
            assert post["status"] in ("ok", "skipped")


def test_info_failures_are_retried_then_recorded(world_server, tmp_path):
    world = world_server.world
    ids = sorted(world.expected)[:4]
    release = tmp_path / "ids.csv"
    write_ids_only(release, [(f"reddit:{i}", "joy", 1) for i in ids])
    # /api/info answers 503 past every retry (PRAW's own and ours): failed, with the reason
    world_server.inject("reddit.info", "status", status=503)
    two_tries = net.RetryPolicy(attempts=2, base_s=0.02, max_wait_s=0.1, timeout=(2.0, 5.0))
    failed = rehydrate(release, tmp_path / "data", online=online(world_server, two_tries))
    assert failed.failed == {"reddit_http_503": 4}
    assert world_server.count("reddit.info", status=503) > two_tries.attempts  # retried
    # the service is back: a rerun looks the failed posts up again
    world_server.clear_faults()
    again = rehydrate(release, tmp_path / "data", online=online(world_server))
    assert not again.failed and again.pending == 0


def test_cli_online_and_missing_credentials(world_server, tmp_path, monkeypatch, capsys):
    world = world_server.world
    release = tmp_path / "ids.csv"
    write_ids_only(release, [(f"reddit:{i}", "joy", 1) for i in sorted(world.posts)[:6]])
    data = tmp_path / "data"
    for name in ("praw_client_id", "praw_client_secret", "praw_user_agent"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no praw.ini here
    with pytest.raises(SystemExit) as exit_info:
        main(["crawl", "rehydrate", "--from", str(release), "--data", str(data)])
    assert exit_info.value.code == 2
    assert "credentials" in capsys.readouterr().err.lower()
    assert not data.exists()

    monkeypatch.setenv("praw_client_id", CLIENT_ID)
    monkeypatch.setenv("praw_client_secret", CLIENT_SECRET)
    monkeypatch.setenv("praw_user_agent", "emofuse-tests")
    monkeypatch.setenv("praw_oauth_url", world_server.url)
    monkeypatch.setenv("praw_reddit_url", world_server.url)
    argv = ["crawl", "rehydrate", "--from", str(release), "--data", str(data), "--workers", "2",
            "--host-map", json.dumps(world_server.host_map()), "--backoff", "0.01"]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr()
    assert "requested=6" in out.out and "pending=0" in out.out
    assert CLIENT_SECRET not in out.out + out.err
    assert CLIENT_SECRET.encode() not in store_path(data, "reddit").read_bytes()


def test_flickr_photos_of_a_release_keep_their_published_text(world_server, tmp_path):
    import pandas as pd

    world = world_server.world
    photos = {p: r for p, r in world.flickr_photos.items() if r["case"] == "ok"}
    shards = tmp_path / "release" / "data"
    shards.mkdir(parents=True)
    pd.DataFrame(
        {
            "post_id": [f"flickr:{p}" for p in photos],
            "label": [r["label"] for r in photos.values()],
            "title": [f"Published {n}" for n in range(len(photos))],
            "body": ["as published" for _ in photos],
            "votes_agree": [r["votes_agree"] for r in photos.values()],
            "votes_total": [r["votes_total"] for r in photos.values()],
        }
    ).to_parquet(shards / "test-00000-of-00001.parquet")
    data = tmp_path / "data"
    rehydrate(tmp_path / "release", data, images=False)  # text first, then online
    summary = rehydrate(tmp_path / "release", data, online=online(world_server))
    assert summary.fetched == len(photos) and not summary.gone
    with CrawlStore(store_path(data, "flickr")) as store:
        for n, (photo_id, record) in enumerate(photos.items()):
            post = store.post(f"flickr:{photo_id}")
            assert post["status"] == "ok" and post["title"] == f"Published {n}"
            assert post["body"] == "as published"
            assert post["extra"]["current_title"] == record["title"]
            assert post["extra"]["published_split"] == "test"
            assert len(store.images(post["post_id"], status="ok")) == 1


def test_kill_and_resume_real_process(world_server, tmp_path):
    """SIGKILL a real rehydration mid-run, twice; the rerun ends with every post as the world
    says, no post or image row duplicated, no half-written image."""
    import os
    import subprocess
    import sys

    from test_flickr_crawl import kill_when

    world = world_server.world
    ids = sorted(world.expected)
    release = tmp_path / "ids.csv"
    write_ids_only(release, [(f"reddit:{i}", "joy", 1) for i in ids])
    world_server.inject("host.*", "latency", seconds=0.05)
    data = tmp_path / "data"
    env = {
        **os.environ,
        **crawl_environment(world_server, user_agent="emofuse-tests"),
        "EMOFUSE_SALT": "test-salt",
    }
    command = [sys.executable, "-m", "emofuse.cli", "crawl", "rehydrate", "--from", str(release),
               "--data", str(data), "--workers", "2", "--backoff", "0.01"]  # fmt: skip
    stored = "SELECT COUNT(*) FROM images WHERE status = 'ok'"
    stored_at_kill = []
    for at_least in (5, 40):  # of 100+ images: one kill early, one deep in the downloads
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        stored_at_kill.append(kill_when(process, store_path(data, "reddit"), stored, at_least))
    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr[-2000:]
    assert "pending=0" in final.stdout
    expected_images = sum(world.expected[i].images for i in ids)
    assert expected_images > 100  # the world is big enough for the kill at 40 to be mid-run
    assert 5 <= stored_at_kill[0] and stored_at_kill[-1] < expected_images, stored_at_kill
    with CrawlStore(store_path(data, "reddit")) as store:
        assert store.count_posts() == len(ids)
        for native in ids:
            post, expected = store.post(f"reddit:{native}"), world.expected[native]
            rows = store.images(post["post_id"])
            assert len({row["idx"] for row in rows}) == len(rows)
            if expected.status == "ok":
                assert post["status"] == "ok", (native, post["reason"])
                ok = [row for row in rows if row["status"] == "ok"]
                assert len(ok) == expected.images
                for row in ok:
                    assert (data / row["path"]).read_bytes()[:3] == b"\xff\xd8\xff"
            else:
                assert post["status"] == "skipped"
    assert not list((data / "raw" / "reddit" / "images").rglob("*.tmp"))


def test_a_rejected_flickr_key_stops_before_the_import(world_server, tmp_path):
    world = world_server.world
    release = tmp_path / "release" / "data" / "test.csv"
    rows = [(f"flickr:{p}", r["label"], r["votes_agree"]) for p, r in world.flickr_photos.items()]
    write_ids_only(release, rows)
    options = online(world_server)
    options.make_flickr_credentials = lambda: FlickrCredentials(
        SANDBOX_FLICKR_KEY, "Qw8-distinctive-wrong-secret"
    )
    data = tmp_path / "data"
    with pytest.raises(UserError, match="rejected the API key") as error:
        rehydrate(tmp_path / "release", data, online=options)
    assert "Qw8-distinctive-wrong-secret" not in str(error.value)
    assert not data.exists()  # nothing imported, nothing written


def test_a_garbled_info_answer_is_asked_again(world_server, tmp_path):
    ids = sorted(world_server.world.expected)[:4]
    release = tmp_path / "ids.csv"
    write_ids_only(release, [(f"reddit:{i}", "joy", 1) for i in ids])
    fault = world_server.inject("reddit.info", "corrupt", times=1)  # prawcore: BadJSON
    summary = rehydrate(release, tmp_path / "data", online=online(world_server))
    assert fault.hits == 1 and world_server.count("reddit.info") == 2
    assert not summary.failed and summary.pending == 0
