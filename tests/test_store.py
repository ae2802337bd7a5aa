"""The crawl store: idempotent upserts, image state, cursors, schema-version guard."""

import sqlite3

import pytest

from emofuse.crawlers.store import CrawlStore, read_store
from emofuse.errors import UserError
from emofuse.schema import STORE_SCHEMA_VERSION


def _post(native_id: str, **fields):
    return {"post_id": f"reddit:{native_id}", "source": "reddit", "label": "joy", **fields}


def test_upsert_is_idempotent_and_keeps_crawl_state(tmp_path):
    store = CrawlStore(tmp_path / "crawl.sqlite", source="reddit")
    assert store.upsert_post(_post("a1", rank=10), ["https://i.redd.it/a.jpg"])
    store.record_image("reddit:a1", 0, status="ok", path="raw/reddit/images/a1/0.jpg")
    assert store.settle_post("reddit:a1") == "ok"
    # listed again by a resumed crawl: nothing duplicated, nothing reset
    assert not store.upsert_post(_post("a1", rank=99), ["https://i.redd.it/a.jpg"])
    assert store.count_posts() == 1
    assert store.post("reddit:a1")["status"] == "ok"
    assert store.post("reddit:a1")["rank"] == 10
    assert len(store.images("reddit:a1")) == 1
    assert store.source == "reddit"


def test_settle_post_derives_status_from_images(tmp_path):
    store = CrawlStore(tmp_path / "crawl.sqlite")
    store.upsert_post(_post("g1"), ["u0", ("u1", "preview1")])
    assert store.settle_post("reddit:g1") == "pending"
    assert [row["fallback_url"] for row in store.images("reddit:g1")] == [None, "preview1"]
    store.record_image("reddit:g1", 0, status="gone", reason="http 404")
    store.record_image("reddit:g1", 1, status="failed", reason="timeout")
    assert store.settle_post("reddit:g1") == "failed"
    assert store.post("reddit:g1")["reason"] == "timeout"
    assert store.pending_images() == []
    assert store.images("reddit:g1")[1]["attempts"] == 1


def test_extra_is_merged_and_cursor_round_trips(tmp_path):
    store = CrawlStore(tmp_path / "crawl.sqlite")
    store.upsert_post(_post("x", extra={"published_title": "old"}))
    store.update_post("reddit:x", title="new", extra={"current_score": 5})
    post = store.post("reddit:x")
    assert post["title"] == "new"
    assert post["extra"] == {"published_title": "old", "current_score": 5}
    store.save_cursor("happy/top/all", "t3_abc", seen=100)
    store.save_cursor("happy/top/all", "t3_def", seen=200, done=True)
    assert store.cursor("happy/top/all")["after"] == "t3_def"
    assert store.cursor("happy/top/all")["done"] == 1
    store.record_attempt("skipped", "reddit:x", "https://v.redd.it/x", "video")
    assert store.conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 1


def test_reopen_and_read_store(tmp_path):
    path = tmp_path / "crawl.sqlite"
    with CrawlStore(path) as store:
        store.upsert_post(_post("p", title="hello"), ["u"])
    posts, images = read_store(path)
    assert list(posts["post_id"]) == ["reddit:p"]
    assert list(images["source_url"]) == ["u"]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_missing_store_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no crawl store"):
        read_store(tmp_path / "nope.sqlite")
    assert not (tmp_path / "nope.sqlite").exists()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "crawl.sqlite"
    CrawlStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE meta SET value=? WHERE key='schema_version'", (str(STORE_SCHEMA_VERSION + 1),)
    )
    conn.commit()
    conn.close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(UserError, match="newer emofuse"):
        CrawlStore(path)
    with pytest.raises(UserError, match="newer emofuse"):
        read_store(path)
    # refused read-only: no -wal/-shm left beside it, not a byte changed
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_not_a_store_is_a_user_error(tmp_path):
    path = tmp_path / "crawl.sqlite"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(UserError, match="not a crawl store"):
        CrawlStore(path)
    assert path.read_bytes().startswith(b"this is not sqlite")


def test_a_foreign_sqlite_file_is_refused_untouched(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE songs (title TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(UserError, match="not a crawl store"):
        CrawlStore(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite"]
