"""`emofuse crawl flickr`: flickrapi against the sandbox, end to end, with faults and kills."""

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emofuse.cli import main
from emofuse.crawlers import net
from emofuse.crawlers.flickr import (
    FlickrApi,
    FlickrClient,
    FlickrCrawler,
    FlickrCrawlOptions,
    FlickrCredentials,
    choose_size,
    crawl_flickr,
    load_credentials,
    sandbox_endpoints,
)
from emofuse.crawlers.labels import read_labels
from emofuse.crawlers.sandbox.flickr_world import (
    SANDBOX_FLICKR_KEY,
    SANDBOX_FLICKR_SECRET,
    add_flickr_photos,
    expected_outcome,
    write_label_file,
)
from emofuse.crawlers.sandbox.world import World
from emofuse.crawlers.store import CrawlStore
from emofuse.errors import UserError
from emofuse.paths import store_path

FAST = net.RetryPolicy(attempts=4, base_s=0.05, max_wait_s=0.2, timeout=(2.0, 5.0))
CREDENTIALS = FlickrCredentials(SANDBOX_FLICKR_KEY, SANDBOX_FLICKR_SECRET)


@pytest.fixture
def flickr_world_server(make_sandbox):
    def start(count=18, seed=5):
        world = World.generate(seed=seed, posts_per_subreddit=1)
        add_flickr_photos(world, count=count)
        server = make_sandbox(world)
        assert server.flickr  # the sandbox registers Flickr with its default routes
        return server

    return start


@pytest.fixture
def flickr_env(monkeypatch):
    monkeypatch.setenv("FLICKR_API_KEY", SANDBOX_FLICKR_KEY)
    monkeypatch.setenv("FLICKR_API_SECRET", SANDBOX_FLICKR_SECRET)


def crawl(server, labels_path, data, **options):
    rest_url, host_map = sandbox_endpoints(server.url)
    options = {"workers": 4, "policy": FAST, **options}
    opts = FlickrCrawlOptions(calls_per_hour=1e7, host_map=host_map, **options)
    return crawl_flickr(
        read_labels(labels_path), data, CREDENTIALS, rest_url=rest_url, options=opts
    )


def check_store_against_world(world, data: Path) -> None:
    """Every photo as the world says a correct crawler stores it, files and hashes included."""
    with CrawlStore(store_path(data, "flickr")) as store:
        assert store.count_posts() == len(world.flickr_photos)
        for photo_id, record in world.flickr_photos.items():
            post = store.post(f"flickr:{photo_id}")
            expected = expected_outcome(record)
            assert (post["status"], post["reason"]) == (expected["status"], expected["reason"]), (
                record["case"]
            )
            assert post["label"] == record["label"]
            assert post["votes_agree"] == record["votes_agree"] == post["rank"]
            images = store.images(post["post_id"], status="ok")
            if expected["status"] != "ok":
                assert images == []
                continue
            assert len(images) == 1
            image = images[0]
            assert max(image["width"], image["height"]) == expected["long_side"]
            stored = (data / image["path"]).read_bytes()
            assert stored[:3] == b"\xff\xd8\xff"
            assert hashlib.sha256(stored).hexdigest() == image["sha256"]
            assert len(image["phash"]) == 16
            assert image["source_url"].startswith("https://live.staticflickr.com/")
    assert not list((data / "raw" / "flickr" / "images").rglob("*.tmp"))


def test_crawl_stores_every_photo_as_the_world_says(flickr_world_server, tmp_path):
    server = flickr_world_server()
    world = server.world
    labels = write_label_file(world, tmp_path / "labels.csv")
    summary = crawl(server, labels, tmp_path / "data")

    check_store_against_world(world, tmp_path / "data")
    outcomes = [expected_outcome(r) for r in world.flickr_photos.values()]
    assert summary.requested == len(world.flickr_photos)
    assert summary.fetched == sum(o["status"] == "ok" for o in outcomes)
    assert summary.gone == {
        "flickr_error_1": sum(o["reason"] == "flickr_error_1" for o in outcomes),
        "http_404": sum(o["reason"] == "http_404" for o in outcomes),
    }
    assert not summary.failed and summary.pending == 0
    # code 1 is not retried: one getInfo per deleted or private photo, no getSizes
    gone_photos = sum(o["reason"] == "flickr_error_1" for o in outcomes)
    assert server.flickr.failures == {1: gone_photos}

    # the text: HTML stripped, entities decoded; the owner only hashed
    with CrawlStore(store_path(tmp_path / "data", "flickr")) as store:
        for photo_id, record in world.flickr_photos.items():
            post = store.post(f"flickr:{photo_id}")
            if post["status"] == "gone" and post["reason"] == "flickr_error_1":
                assert post["title"] is None
                continue
            assert post["title"] == record["title"]
            assert "<" not in post["body"] and "&amp;" not in post["body"]
            assert "&" in post["body"]  # "&amp; more" decoded
            assert post["author_hash"] and post["author_hash"] != record["owner"]["nsid"]
            assert post["extra"]["tags"] == record["tags"]
            assert post["extra"]["license"] == record["license"]
            assert post["permalink"].startswith("https://www.flickr.com/photos/")
            assert post["created_utc"] == float(record["dateuploaded"])
    raw = store_path(tmp_path / "data", "flickr").read_bytes()
    for record in world.flickr_photos.values():
        assert record["owner"]["username"].encode() not in raw
        assert record["owner"]["realname"].encode() not in raw

    # a second run changes nothing and asks nothing but the key check
    before = server.count("flickr.*")
    again = crawl(server, labels, tmp_path / "data")
    assert again.already == summary.fetched and again.images_stored == 0
    assert server.count("flickr.*") == before + 1
    check_store_against_world(world, tmp_path / "data")


def test_105_201_and_5xx_are_retried_and_exhausted_retries_are_recorded(
    flickr_world_server, tmp_path
):
    server = flickr_world_server(count=8)
    labels = write_label_file(server.world, tmp_path / "labels.csv")
    server.flickr.fail(105, times=2, method="flickr.photos.getInfo")
    server.flickr.fail(201, times=1, method="flickr.photos.getInfo")
    # (skip: the 502s hit a later photo than the 105/201s, so no photo exceeds the retries)
    server.inject("flickr.rest", "status", status=502, times=2, skip=6)
    server.inject("host.live.staticflickr.com", "status", status=503, times=2)
    summary = crawl(server, labels, tmp_path / "data")
    assert not summary.failed
    check_store_against_world(server.world, tmp_path / "data")
    assert server.flickr.failures[105] == 2 and server.flickr.failures[201] == 1
    assert server.count("flickr.rest", status=502) == 2

    # a photo whose API stays unavailable past the retries: failed, with the reason
    server2 = flickr_world_server(count=6, seed=9)
    labels2 = write_label_file(server2.world, tmp_path / "labels2.csv")
    server2.flickr.fail(105, times=FAST.attempts, method="flickr.photos.getInfo")
    first = crawl(server2, labels2, tmp_path / "data2")
    assert first.failed == {"flickr_error_105": 1}
    # not retried by a plain rerun; retried with retry_failed
    assert crawl(server2, labels2, tmp_path / "data2").failed == {"flickr_error_105": 1}
    third = crawl(server2, labels2, tmp_path / "data2", retry_failed=True)
    assert not third.failed
    check_store_against_world(server2.world, tmp_path / "data2")


def test_client_side_rate_limit_keeps_under_the_server_limit(flickr_world_server, tmp_path):
    server = flickr_world_server(count=6)
    labels = write_label_file(server.world, tmp_path / "labels.csv")
    # the server allows 3 calls a second; the client is set to 2 a second (7,200/hour)
    server.enforce_rate_limit(limit=3, window_s=1.0, routes="flickr.rest")
    rest_url, host_map = sandbox_endpoints(server.url)
    options = FlickrCrawlOptions(workers=2, calls_per_hour=7200, host_map=host_map, policy=FAST)
    started = time.monotonic()
    summary = crawl_flickr(
        read_labels(labels), tmp_path / "data", CREDENTIALS, rest_url=rest_url, options=options
    )
    elapsed = time.monotonic() - started
    calls = server.count("flickr.rest")
    assert calls == summary.api_calls >= 7  # echo + 6 getInfo (+ getSizes)
    assert server.count("flickr.rest", status=429) == 0
    assert elapsed >= (calls - 1) / 2.0 * 0.95

    # without the client limit the same server answers 429s (the test can fail)
    server.reset_counts()
    fast = FlickrCrawlOptions(workers=2, calls_per_hour=1e7, host_map=host_map, policy=FAST)
    api = FlickrApi(FlickrClient(CREDENTIALS, rest_url), fast.calls_per_hour, FAST)
    FlickrCrawler(api, tmp_path / "data3", fast).run(read_labels(labels))
    assert server.count("flickr.rest", status=429) > 0


def test_cli_end_to_end_keeps_secrets_out(flickr_world_server, tmp_path, flickr_env, capsys):
    server = flickr_world_server(count=8)
    labels = write_label_file(server.world, tmp_path / "labels.csv")
    data = tmp_path / "data"
    argv = ["crawl", "flickr", "--labels", str(labels), "--sandbox", server.url]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--data", str(data), "--calls-per-hour", "1000000", "--workers", "2"])
    assert exit_info.value.code == 0
    out = capsys.readouterr()
    assert "requested=8" in out.out and "fetched (image stored)" in out.err
    for secret in (SANDBOX_FLICKR_KEY, SANDBOX_FLICKR_SECRET):
        assert secret not in out.out + out.err
        for path in data.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
    client = FlickrClient(CREDENTIALS, "http://x/")
    assert SANDBOX_FLICKR_KEY not in repr(client) and SANDBOX_FLICKR_KEY not in repr(CREDENTIALS)


def test_bad_input_exits_2_before_any_request_or_write(
    flickr_world_server, tmp_path, flickr_env, monkeypatch, capsys
):
    server = flickr_world_server(count=3)
    data = tmp_path / "data"
    bad = tmp_path / "bad.csv"
    bad.write_text("photo,label,votes_agree,votes_total\n1,awe,3,5\n")

    def run(*args):
        with pytest.raises(SystemExit) as exit_info:
            main(["crawl", "flickr", "--sandbox", server.url, "--data", str(data), *args])
        return exit_info.value.code, capsys.readouterr().err

    code, err = run("--labels", str(bad))
    assert code == 2 and "no id column" in err and "--id-column" in err
    code, err = run("--labels", str(bad), "--id-column", "nope")
    assert code == 2 and "no column 'nope'" in err
    good = write_label_file(server.world, tmp_path / "labels.csv")
    code, err = run("--labels", str(good), "--workers", "0")
    assert code == 2 and "--workers" in err
    # a key the API rejects: one line, exit 2, and the key is not in it
    monkeypatch.setenv("FLICKR_API_SECRET", "wrong-secret-value")
    code, err = run("--labels", str(good), "--calls-per-hour", "1000000")
    assert code == 2 and "rejected the API key" in err and "wrong-secret-value" not in err
    monkeypatch.delenv("FLICKR_API_KEY")
    monkeypatch.setenv("EMOFUSE_FLICKR_CONFIG", str(tmp_path / "none.toml"))
    code, err = run("--labels", str(good))
    assert code == 2 and "FLICKR_API_KEY" in err
    assert server.count("flickr.rest", status=200) == 1  # only the rejected key check
    assert not data.exists()


def test_credentials_from_a_config_file(tmp_path, monkeypatch):
    monkeypatch.delenv("FLICKR_API_KEY", raising=False)
    monkeypatch.delenv("FLICKR_API_SECRET", raising=False)
    config = tmp_path / "flickr.toml"
    config.write_text('[flickr]\napi_key = "k1234567"\napi_secret = "s7654321"\n')
    credentials = load_credentials(config)
    assert (credentials.key, credentials.secret) == ("k1234567", "s7654321")
    monkeypatch.setenv("EMOFUSE_FLICKR_CONFIG", str(config))
    assert load_credentials().key == "k1234567"
    config.write_text('[flickr]\napi_key = "s7654321\n')
    with pytest.raises(UserError) as error:
        load_credentials(config)
    assert "s7654321" not in str(error.value)
    config.write_text('[flickr]\napi_key = "k"\n')
    with pytest.raises(UserError, match="no api_secret"):
        load_credentials(config)


def test_choose_size():
    sizes = [
        {"label": "Square", "width": 75, "height": 75, "source": "s"},
        {"label": "Small 400", "width": 400, "height": 300, "source": "w"},
        {"label": "Medium 640", "width": 640, "height": 480, "source": "z"},
        {"label": "Large", "width": 1024, "height": 768, "source": "b"},
    ]
    assert choose_size(sizes)["source"] == "z"
    assert choose_size(sizes, 1000)["source"] == "b"
    assert choose_size(sizes[:2])["source"] == "w"  # nothing large enough: the largest
    assert choose_size(sizes[:1]) is None


def count_in_store(path, query: str) -> int:
    """A count from the store another process is writing (0 while it does not exist yet)."""
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(path, timeout=5)
        try:
            return db.execute(query).fetchone()[0]
        finally:
            db.close()
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def kill_when(process, path, query: str, at_least: int, timeout: float = 60.0) -> int:
    """SIGKILL ``process`` as soon as ``query`` counts ``at_least`` in the store: a kill in
    the middle of the work however slow the machine is. Returns the count at the kill."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if count_in_store(path, query) >= at_least:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return count_in_store(path, query)


def test_kill_and_resume_real_process(flickr_world_server, tmp_path):
    """SIGKILL a real crawl several times mid-run; the reruns finish with nothing lost,
    nothing duplicated, no half-written image."""
    server = flickr_world_server(count=40, seed=11)
    server.inject("flickr.rest", "latency", seconds=0.03)
    server.inject("host.live.staticflickr.com", "latency", seconds=0.05)
    labels = write_label_file(server.world, tmp_path / "labels.csv")
    data = tmp_path / "data"
    env = {
        **os.environ,
        "FLICKR_API_KEY": SANDBOX_FLICKR_KEY,
        "FLICKR_API_SECRET": SANDBOX_FLICKR_SECRET,
        "EMOFUSE_SALT": "test-salt",
    }
    command = [
        sys.executable, "-m", "emofuse.cli", "crawl", "flickr", "--labels", str(labels),
        "--sandbox", server.url, "--data", str(data), "--calls-per-hour", "1000000",
        "--workers", "4",
    ]  # fmt: skip
    done = "SELECT COUNT(*) FROM posts WHERE status != 'pending'"
    progress_at_kill = []
    for at_least in (5, 15, 25):  # of 40 photos
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        progress_at_kill.append(kill_when(process, store_path(data, "flickr"), done, at_least))
    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert "requested=40" in final.stdout and "pending=0" in final.stdout
    # the kills happened mid-crawl, not before or after it
    assert 5 <= progress_at_kill[0] and progress_at_kill[-1] < 40, progress_at_kill
    check_store_against_world(server.world, data)


def test_emotion6_labels_are_read_but_not_crawled(shared_data, flickr_world_server, tmp_path):
    """Emotion6 names its own image files, not Flickr photos: refused before any request."""
    server = flickr_world_server(count=2)
    rest_url, host_map = sandbox_endpoints(server.url)
    labels = read_labels(shared_data / "emotion6" / "ground_truth.txt")
    options = FlickrCrawlOptions(calls_per_hour=1e7, host_map=host_map, policy=FAST)
    with pytest.raises(UserError, match="1980 ids of ground_truth.txt are not Flickr photo ids"):
        crawl_flickr(labels, tmp_path / "data", CREDENTIALS, rest_url=rest_url, options=options)
    assert server.count("flickr.*") == 0 and not (tmp_path / "data").exists()


def test_host_map_option_reaches_the_api(flickr_world_server, tmp_path, flickr_env, capsys):
    server = flickr_world_server(count=4)
    labels = write_label_file(server.world, tmp_path / "labels.csv")
    hosts = tmp_path / "host-map.json"
    hosts.write_text(json.dumps(server.host_map()))
    with pytest.raises(SystemExit) as exit_info:
        main(["crawl", "flickr", "--labels", str(labels), "--host-map", str(hosts),
              "--data", str(tmp_path / "data"), "--calls-per-hour", "1000000"])  # fmt: skip
    assert exit_info.value.code == 0
    assert "requested=4" in capsys.readouterr().out
    check_store_against_world(server.world, tmp_path / "data")


def test_every_http_fault_kind_is_survived(flickr_world_server, tmp_path):
    """Latency, 429, timeouts, resets, truncated and corrupt bodies on the REST API (flickrapi)
    and on the static image host: the crawl ends as the world says, every fault really hit."""
    server = flickr_world_server(count=10)
    labels = write_label_file(server.world, tmp_path / "labels.csv")
    # `skip` spaces the faults so that each failed request is followed by a good retry
    faults = [
        server.inject("flickr.rest", kind, times=1, skip=2 * n, seconds=seconds, retry_after=1)
        for n, (kind, seconds) in enumerate(
            [("reset", 0), ("truncate", 0), ("corrupt", 0), ("timeout", 2.5), ("latency", 0.2),
             ("ratelimit", 0)]
        )
    ]  # fmt: skip
    faults += [
        server.inject("host.live.staticflickr.com", kind, times=1, skip=2 * n, seconds=seconds)
        for n, (kind, seconds) in enumerate(
            [("reset", 0), ("truncate", 0), ("corrupt", 0), ("timeout", 2.5), ("latency", 0.2),
             ("ratelimit", 0)]
        )
    ]  # fmt: skip
    policy = net.RetryPolicy(attempts=3, base_s=0.05, max_wait_s=0.2, timeout=(1.0, 1.0))
    summary = crawl(server, labels, tmp_path / "data", policy=policy, workers=1)
    for fault in faults:
        assert fault.hits == 1, fault
    assert not summary.failed, summary.failed
    check_store_against_world(server.world, tmp_path / "data")


def test_help_keeps_the_square_brackets(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one line per option: the text is not wrapped
    for command in ("flickr", "rehydrate"):
        with pytest.raises(SystemExit):
            main(["crawl", command, "--help"])
        assert "TOML file with [flickr] api_key" in capsys.readouterr().out, command
