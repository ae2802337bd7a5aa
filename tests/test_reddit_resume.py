"""Kill a real `emofuse crawl reddit` process with SIGKILL, several times, then finish it.

Afterwards: no post lost, none duplicated, no half-written image, and no image that was
already stored before a run was downloaded again by that run.
"""

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time

from PIL import Image

from emofuse.crawlers.net import rewrite_url
from emofuse.crawlers.sandbox.reddit_api import SANDBOX_CREDENTIALS, crawl_environment
from emofuse.crawlers.store import CrawlStore
from emofuse.paths import store_path

CLIENT_ID, CLIENT_SECRET = next(iter(SANDBOX_CREDENTIALS.items()))


def query(db, sql):
    """Read the store of the running crawl (WAL lets us read while it writes)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql).fetchone()[0] or 0
    except sqlite3.OperationalError:
        return 0  # tables not created yet


def ok_paths(data_dir, host_map):
    """Sandbox paths of the images already stored."""
    db = store_path(data_dir, "reddit")
    if not db.exists():
        return set()
    with CrawlStore(db) as store:
        urls = [row["source_url"] for row in store.images(status="ok")]
    return {rewrite_url(url, host_map).split("/_host/", 1)[1] for url in urls}


def test_sigkill_resume(make_sandbox, tmp_path):
    server = make_sandbox(
        seed=21,
        posts_per_subreddit=150,  # two pages a listing: a kill can land between them
        subreddits={"happy": "joy", "creepy": "fear"},
    )
    server.inject("reddit.listing", "latency", seconds=0.4)
    server.inject("host.*", "latency", seconds=0.03)
    host_map = server.host_map()
    data_dir = tmp_path / "data"
    db = store_path(data_dir, "reddit")
    env = {
        **os.environ,
        **crawl_environment(server, user_agent="emofuse-kill-test"),
        "COLUMNS": "200",
    }
    command = [
        sys.executable,
        "-m",
        "emofuse.cli",
        "crawl",
        "reddit",
        "--data",
        str(data_dir),
        "--subreddit",
        "happy=joy",
        "--subreddit",
        "creepy=fear",
        "--workers",
        "2",
        "--backoff",
        "0.01",
        "--retries",
        "3",
    ]
    # kill points: mid-listing, early in the downloads, later in the downloads; then Ctrl-C
    # (what to watch, how much of it this run must add first, the signal)
    stored = "SELECT COUNT(*) FROM images WHERE status='ok'"
    kill_when = [
        ("SELECT SUM(seen) FROM cursors WHERE done=0", 5, signal.SIGKILL),
        (stored, 5, signal.SIGKILL),
        (stored, 40, signal.SIGKILL),
        (stored, 20, signal.SIGINT),
    ]
    kills, interrupted = 0, 0
    for condition, step, how in [*kill_when, (None, 0, None)]:
        stored_before = ok_paths(data_dir, host_map)
        baseline = query(db, condition) if condition else 0
        mark = len(server.log)
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        if condition is None:
            out, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
        else:
            deadline = time.monotonic() + 120
            while process.poll() is None and time.monotonic() < deadline:
                if query(db, condition) >= baseline + step:
                    process.send_signal(how)
                    break
                time.sleep(0.05)
            out, err = process.communicate(timeout=60)
            kills += process.returncode == -signal.SIGKILL
            if how == signal.SIGINT:
                interrupted += process.returncode == 130
                assert "run the same command again" in err
        fetched = {
            path.split("/_host/", 1)[1]
            for _m, path, _r, _s in server.log[mark:]
            if path.startswith("/_host/")
        }
        assert not (fetched & stored_before), "a finished download was repeated"
    assert kills == 3 and interrupted == 1

    world = server.world
    store = CrawlStore(db)
    posts = store.posts()
    ids = [p["post_id"] for p in posts]
    expected_ids = {f"reddit:{i}" for s in ("happy", "creepy") for i in world.by_subreddit[s]}
    assert len(ids) == len(set(ids)) and set(ids) == expected_ids  # none lost, none twice
    assert store.count_posts(status="pending") == 0
    for post in posts:
        native = post["post_id"].split(":")[1]
        rows = store.images(post["post_id"])
        assert [row["idx"] for row in rows] == list(range(len(rows)))
        ok = [row for row in rows if row["status"] == "ok"]
        assert len(ok) == world.expected[native].images, world.kind_of(native)
        for row in ok:
            path = data_dir / row["path"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
            with Image.open(path) as image:
                image.load()  # a half-written JPEG would fail here
    assert not list(data_dir.rglob("*.tmp"))
    store.close()
