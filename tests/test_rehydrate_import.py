"""`emofuse crawl rehydrate --no-images`: importing a release without any request.

The paper's real Reddit release (../shared/data/emoclassifier-reddit) is imported here, so the
real Reddit text can go through curation offline.
"""

import json
import socket
import sqlite3

import pandas as pd
import pytest

from emofuse.crawlers.rehydrate import read_release, rehydrate
from emofuse.crawlers.store import CrawlStore, read_store
from emofuse.errors import UserError
from emofuse.paths import store_path


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything opens a socket: --no-images must make no request."""

    def refuse(*args, **kwargs):
        raise AssertionError("--no-images opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_real_paper_release_imports_every_post(shared_data, tmp_path, no_network):
    release = shared_data / "emoclassifier-reddit"
    summary = rehydrate(release, tmp_path, images=False)

    assert summary.format == "emoclassifier"
    assert summary.requested == 3267
    assert summary.imported == 3267
    assert dict(summary.by_label) == {"joy": 1124, "disgust": 830, "fear": 698, "anger": 615}

    posts, images = read_store(store_path(tmp_path, "reddit"))
    assert len(posts) == 3267 and posts.post_id.is_unique
    assert len(images) == 0
    assert set(posts.status) == {"ok"} and set(posts.kind) == {"text"}

    # one known row, checked field by field against the CSV itself
    csv = pd.read_csv(release / "processed_happy.csv", dtype={"id": str})
    first = csv.iloc[0]
    row = posts.set_index("post_id").loc[f"reddit:{first['id']}"]
    assert row.label == "joy" and row.source == "reddit"
    assert row.title == first["title"]
    assert row["rank"] == first["ups"]
    assert row.created_utc == first["created_utc"]
    assert row.permalink == first["permalink"] and row.url == first["url"]
    assert row.community == "happy"
    extra = json.loads(row.extra)
    assert extra["published_title"] == first["title"]
    assert extra["published_score"] == first["ups"]

    # authors are salted hashes, never the raw names
    authors = set(csv.author.dropna())
    assert posts.author_hash.notna().sum() == 3267 - 153  # 153 posts have no author (deleted)
    assert not authors & set(posts.author_hash.dropna())
    raw = store_path(tmp_path, "reddit").read_bytes()
    assert first["author"].encode() not in raw


def test_import_is_idempotent(shared_data, tmp_path, no_network):
    release = shared_data / "emoclassifier-reddit" / "processed_rage.csv"
    first = rehydrate(release, tmp_path, images=False)
    again = rehydrate(release, tmp_path, images=False)
    assert first.imported == 615 and first.already == 0
    assert again.imported == 0 and again.already == 615
    with CrawlStore(store_path(tmp_path, "reddit")) as store:
        assert store.count_posts() == 615
        assert store.count_posts(label="anger") == 615


def test_same_author_same_hash_and_salt_differs_by_data_dir(tmp_path, no_network):
    release = tmp_path / "processed_happy.csv"
    release.write_text(
        "id,url,ups,created_utc,title,permalink,subreddit,author\n"
        "a1,http://i.imgur.com/a.jpg,10,1,First post,/r/happy/a1,happy,someone\n"
        "a2,http://i.imgur.com/b.jpg,20,2,Second post,/r/happy/a2,happy,someone\n"
    )
    rehydrate(release, tmp_path / "d1", images=False)
    rehydrate(release, tmp_path / "d2", images=False)
    hashes = []
    for name in ("d1", "d2"):
        posts, _ = read_store(store_path(tmp_path / name, "reddit"))
        assert posts.author_hash.nunique() == 1
        hashes.append(posts.author_hash.iloc[0])
    assert "someone" not in hashes
    assert hashes[0] != hashes[1]


def test_emofuse_release_parquet_and_ids_only(tmp_path, no_network):
    shards = tmp_path / "release" / "data"
    shards.mkdir(parents=True)
    pd.DataFrame(
        {
            "post_id": ["reddit:x1", "flickr:123"],
            "label": ["joy", "awe"],
            "title": ["A happy day", "Mountains at dawn"],
            "rank": [120, 5],
            "votes_agree": [None, 5],
            "votes_total": [None, 5],
            "split": ["train", "test"],
        }
    ).to_parquet(shards / "train-00000.parquet")
    summary = rehydrate(tmp_path / "release", tmp_path / "data", images=False)
    assert summary.format == "emofuse" and summary.imported == 2
    assert dict(summary.by_source) == {"reddit": 1, "flickr": 1}
    with CrawlStore(store_path(tmp_path / "data", "flickr")) as store:
        post = store.post("flickr:123")
        assert post["label"] == "awe" and post["votes_agree"] == 5 and post["status"] == "ok"
        assert post["extra"]["published_split"] == "test"

    ids_only = tmp_path / "ids.csv"
    ids_only.write_text("post_id,label,rank,split\nreddit:z9,fear,300,test\n")
    rehydrate(ids_only, tmp_path / "data2", images=False)
    with CrawlStore(store_path(tmp_path / "data2", "reddit")) as store:
        post = store.post("reddit:z9")
        assert post["status"] == "pending" and post["rank"] == 300
        assert post["title"] is None


def test_bad_release_raises_before_writing(tmp_path, no_network):
    data = tmp_path / "data"
    with pytest.raises(UserError, match="release not found"):
        rehydrate(tmp_path / "nope", data, images=False)

    bad = tmp_path / "processed_cats.csv"
    bad.write_text(
        "id,url,ups,created_utc,title,permalink,subreddit\n"
        "a1,http://x/a.jpg,1,1,Hello there,/r/cats/a1,cats\n"
    )
    with pytest.raises(UserError, match=r"r/cats has no emotion class.*happy=joy"):
        rehydrate(bad, data, images=False)
    # with a mapping it is accepted
    summary = rehydrate(bad, data, images=False, subreddits={"cats": "joy"})
    assert summary.imported == 1

    missing = tmp_path / "processed_happy.csv"
    missing.write_text("id,url,ups,title\na1,http://x/a.jpg,1,Hello\n")
    with pytest.raises(UserError, match="lacks the column"):
        read_release(missing)

    other = tmp_path / "other" / "x.csv"
    other.parent.mkdir()
    other.write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match="lacks the column"):
        rehydrate(other.parent, tmp_path / "data3", images=False)
    assert not (tmp_path / "data3").exists()


def test_cli_no_images_on_real_release(shared_data, tmp_path, no_network, capsys):
    from emofuse.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "crawl",
                "rehydrate",
                "--from",
                str(shared_data / "emoclassifier-reddit"),
                "--no-images",
                "--data",
                str(tmp_path),
            ]
        )
    assert exit_info.value.code == 0
    out = capsys.readouterr()
    assert "3267" in out.out + out.err
    db = sqlite3.connect(store_path(tmp_path, "reddit"))
    assert db.execute("SELECT COUNT(*) FROM posts WHERE status='ok'").fetchone()[0] == 3267

    with pytest.raises(SystemExit) as exit_info:
        main(["crawl", "rehydrate", "--from", str(tmp_path / "missing"), "--no-images"])
    assert exit_info.value.code == 2
    assert "release not found" in capsys.readouterr().err


def test_real_release_round_trip_through_curate_and_release(shared_data, tmp_path, capsys):
    """The paper's release -> text-only store -> curate -> `emofuse release` (Parquet) ->
    rehydrate --no-images: the same posts, labels, titles, ranks and splits come back."""
    from emofuse.cli import main

    def run(*args):
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        assert exit_info.value.code == 0, capsys.readouterr().err[-2000:]

    first, second = tmp_path / "first", tmp_path / "second"
    run("crawl", "rehydrate", "--from", str(shared_data / "emoclassifier-reddit"), "--no-images",
        "--data", str(first))  # fmt: skip
    run("curate", "--split", "--keep-text-only", "--data", str(first))
    release = tmp_path / "release"
    run("release", "--name", "reddit", "--out", str(release), "--data", str(first))
    summary = rehydrate(release, second, images=False)
    assert summary.format == "emofuse" and summary.imported == 3267

    curated = pd.read_parquet(first / "curated" / "reddit" / "posts.parquet")
    back, _ = read_store(store_path(second, "reddit"))
    back = back.set_index("post_id").loc[curated.post_id]
    assert list(back.label) == list(curated.label)
    assert list(back.title) == list(curated.title)
    assert list(back["rank"]) == list(curated["rank"])
    splits = [json.loads(extra)["published_split"] for extra in back.extra]
    assert splits == list(curated.split)
    assert pd.Series(splits).value_counts().to_dict() == {
        "train": 2617, "validation": 325, "test": 325}  # fmt: skip
