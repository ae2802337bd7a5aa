"""``emofuse curate`` end to end on real SQLite crawl stores and real JPEG files."""

import hashlib
import io
import json
import sqlite3
from pathlib import Path

import imagehash
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image

from emofuse.cli import main
from emofuse.crawlers.store import CrawlStore
from emofuse.curation.dedup import hamming, phash_to_int
from emofuse.schema import CURATED_COLUMNS

LONG_EN = "A beautiful quiet morning walk along the river with my old dog"


def picture(seed: int, size: int = 96) -> Image.Image:
    """A distinct picture: random 8x8 colour blocks, smoothly upscaled."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    return Image.fromarray(blocks).resize((size, size), Image.Resampling.BILINEAR)


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


class StoreBuilder:
    """Writes posts and real JPEG images into ``<data>/raw/<source>/`` like a crawl does."""

    def __init__(self, data: Path, source: str):
        self.data, self.source = data, source
        self.store = CrawlStore(data / "raw" / source / "crawl.sqlite", source=source)

    def post(
        self,
        native_id: str,
        label: str,
        title: str,
        rank: float | None = 100,
        images: list[bytes] = (),
        status: str = "ok",
        body: str | None = None,
        votes: tuple[int, int] | None = None,
        failed_images: int = 0,
    ) -> str:
        post_id = f"{self.source}:{native_id}"
        post = {
            "post_id": post_id,
            "source": self.source,
            "label": label,
            "title": title,
            "body": body,
            "rank": rank,
            "votes_agree": votes[0] if votes else None,
            "votes_total": votes[1] if votes else None,
            "permalink": f"https://example.invalid/{native_id}",
            "community": "r/test" if self.source == "reddit" else "owner/1",
            "author_hash": "abc",
            "created_utc": 1_400_000_000.0,
            "kind": "image",
        }
        total = len(images) + failed_images
        urls = [f"https://i.example.invalid/{native_id}/{i}.jpg" for i in range(total)]
        self.store.upsert_post(post, urls)
        for idx, content in enumerate(images):
            relative = f"raw/{self.source}/images/{native_id}/{idx}.jpg"
            (self.data / relative).parent.mkdir(parents=True, exist_ok=True)
            (self.data / relative).write_bytes(content)
            with Image.open(io.BytesIO(content)) as image:
                phash, (width, height) = str(imagehash.phash(image)), image.size
            self.store.record_image(
                post_id,
                idx,
                status="ok",
                path=relative,
                sha256=hashlib.sha256(content).hexdigest(),
                phash=phash,
                width=width,
                height=height,
            )
        for idx in range(len(images), total):
            self.store.record_image(post_id, idx, status="failed", reason="HTTP 404")
        self.store.update_post(post_id, status=status, reason=None if status == "ok" else "test")
        return post_id


def run(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(["curate", *args])
    return exit_info.value.code


def read_posts(data: Path, name: str) -> pd.DataFrame:
    return pq.read_table(data / "curated" / name / "posts.parquet").to_pandas()


def report_of(data: Path, name: str) -> dict:
    report = json.loads((data / "curated" / name / "filter_report.json").read_text())
    # every rule is listed, zeros included; the tests compare the rules that removed posts
    report["removed"] = {
        rule: counts for rule, counts in report["removed"].items() if any(counts.values())
    }
    return report


@pytest.fixture
def flickr_data(data_dir: Path) -> Path:
    """A Flickr store exercising each rule once, plus posts that pass."""
    flickr = StoreBuilder(data_dir, "flickr")
    seed = iter(range(1000))
    for n in range(12):
        flickr.post(f"ok{n}", "awe", f"{LONG_EN} number {n}", rank=n, votes=(4, 5),
                    images=[jpeg_bytes(picture(next(seed)))])  # fmt: skip
    flickr.post("short", "awe", "Sunset", votes=(5, 5), images=[jpeg_bytes(picture(next(seed)))])
    # 4 words of text once the URL and the HTML are gone: too short
    html = '<a href="https://x.example">http://x.example/a/b/c</a> wow'
    flickr.post("urls", "awe", "My new camera", body=html, votes=(5, 5),
                images=[jpeg_bytes(picture(next(seed)))])  # fmt: skip
    flickr.post("german", "fear", "Diese alte Puppe im Keller macht mir wirklich große Angst",
                votes=(5, 5), images=[jpeg_bytes(picture(next(seed)))])  # fmt: skip
    flickr.post("tie", "fear", LONG_EN, votes=(2, 4), images=[jpeg_bytes(picture(next(seed)))])
    flickr.post("novotes", "fear", LONG_EN + " again", images=[jpeg_bytes(picture(next(seed)))])
    flickr.post("gone", "fear", LONG_EN, status="gone", votes=(5, 5))
    flickr.post("failed", "awe", LONG_EN, status="failed", votes=(5, 5), failed_images=1)
    flickr.store.close()
    return data_dir


def test_flickr_defaults_remove_each_rule_and_report_it(flickr_data: Path):
    assert run() == 0
    posts = read_posts(flickr_data, "flickr")
    assert list(posts.columns) == CURATED_COLUMNS
    assert sorted(posts["post_id"]) == sorted(
        [f"flickr:ok{n}" for n in range(12)] + ["flickr:novotes"]
    )
    report = report_of(flickr_data, "flickr")
    assert report["input"] == {"awe": 15, "fear": 4}
    assert report["removed"] == {
        "status:failed": {"awe": 1, "fear": 0},
        "status:gone": {"awe": 0, "fear": 1},
        "agreement": {"awe": 0, "fear": 1},
        "language": {"awe": 0, "fear": 1},
        "length": {"awe": 2, "fear": 0},
    }
    assert report["kept"] == {"awe": 12, "fear": 1}
    assert report["rules_per_source"]["flickr"] == {
        "language": True,
        "length": True,
        "agreement": True,
    }
    # images: list of structs, paths relative to <data>, pointing at the stored files
    for images in posts["images"]:
        assert len(images) == 1
        assert (flickr_data / images[0]["path"]).is_file()
        assert set(images[0]) == {"path", "sha256", "phash", "width", "height", "source_url"}
    stats = pd.read_csv(flickr_data / "curated" / "flickr" / "stats.csv")
    total = stats[stats["emotion"] == "Total"].iloc[0]
    assert (total["posts"], total["images"], total["images_per_post"]) == (13, 13, 1.0)
    assert "| awe | 12 |" in (flickr_data / "curated" / "flickr" / "stats.md").read_text()
    meta = json.loads((flickr_data / "curated" / "flickr" / "dataset.json").read_text())
    assert meta["name"] == "flickr" and meta["classes"] == ["awe", "fear"]
    assert meta["sources"] == [
        {"store": "raw/flickr/crawl.sqlite", "source": ["flickr"], "posts": 19}
    ]


def test_flags_turn_rules_off_and_on(flickr_data: Path):
    assert run("--no-language", "--no-length", "--no-agreement") == 0
    kept = set(read_posts(flickr_data, "flickr")["post_id"])
    assert {"flickr:german", "flickr:short", "flickr:urls", "flickr:tie"} <= kept
    assert run("--rule", "flickr.length=off", "--min-agreement", "0.5") == 0
    kept = set(read_posts(flickr_data, "flickr")["post_id"])
    assert {"flickr:short", "flickr:tie"} <= kept and "flickr:german" not in kept
    assert run("--min-words", "4") == 0  # "My new camera wow" has 4 words once cleaned
    assert "flickr:urls" in set(read_posts(flickr_data, "flickr")["post_id"])


def test_reddit_defaults_apply_no_language_or_length_rule(data_dir: Path):
    reddit = StoreBuilder(data_dir, "reddit")
    for n, title in enumerate(["Babadook", "Mein Hund", "So happy today", "Owie."]):
        reddit.post(f"r{n}", "joy", title, rank=n, images=[jpeg_bytes(picture(n))])
    reddit.post("long", "joy", LONG_EN, rank=10, images=[jpeg_bytes(picture(10))])
    reddit.post("self", "joy", "Just text", status="skipped")
    reddit.store.close()
    assert run() == 0
    assert len(read_posts(data_dir, "reddit")) == 5
    assert report_of(data_dir, "reddit")["removed"] == {"status:skipped": {"joy": 1}}
    assert run("--rule", "reddit.language=on") == 0
    # "Mein Hund" and "Owie." (not an English-vocabulary word; langdetect says Polish)
    assert report_of(data_dir, "reddit")["removed"]["language"] == {"joy": 2}
    assert run("--rule", "reddit.language=on", "--rule", "reddit.length=on") == 0
    # length runs first: the four short titles go there, none is left for language
    assert report_of(data_dir, "reddit")["removed"] == {
        "status:skipped": {"joy": 1},
        "length": {"joy": 4},
    }
    assert list(read_posts(data_dir, "reddit")["post_id"]) == ["reddit:long"]
    # nothing left at all: one line, exit 2, and the previous dataset stays
    assert run("--rule", "reddit.length=on", "--min-words", "50") == 2


def test_duplicates_higher_rank_keeps_the_image(data_dir: Path):
    reddit = StoreBuilder(data_dir, "reddit")
    original, other, third = picture(1), picture(2), picture(3)
    reddit.post("best", "fear", "Original post", rank=900, images=[jpeg_bytes(original)])
    # same bytes, lower rank: exact duplicate
    reddit.post("exact", "fear", "Repost", rank=10, images=[jpeg_bytes(original)])
    # re-encoded at quality 30 and resized: near duplicate, and it ranks higher than "low"
    near = jpeg_bytes(original.resize((80, 80)), quality=30)
    reddit.post("near", "fear", "Near repost", rank=50, images=[near])
    # a gallery where one image of two is a duplicate: the post stays with the other one
    reddit.post(
        "gallery", "fear", "Gallery", rank=20, images=[jpeg_bytes(original), jpeg_bytes(other)]
    )
    # the lower-ranked copy of "third" goes even though it was crawled first
    reddit.post("aaa", "fear", "Low", rank=1, images=[jpeg_bytes(third)])
    reddit.post("zzz", "fear", "High", rank=800, images=[jpeg_bytes(third)])
    reddit.store.close()
    with Image.open(io.BytesIO(near)) as image:
        distance = hamming(
            phash_to_int(str(imagehash.phash(image))), phash_to_int(str(imagehash.phash(original)))
        )
    assert 0 < distance <= 6  # a real near duplicate, within the documented distance

    assert run() == 0
    posts = read_posts(data_dir, "reddit").set_index("post_id")
    assert sorted(posts.index) == ["reddit:best", "reddit:gallery", "reddit:zzz"]
    assert [Path(i["path"]).parent.name for i in posts.loc["reddit:gallery", "images"]] == [
        "gallery"
    ]
    report = report_of(data_dir, "reddit")
    assert report["removed"] == {"duplicate": {"fear": 3}}
    assert report["images"] == {
        "candidates": 7,
        "exact_duplicates": 3,
        "near_duplicates": 1,
        "kept": 3,
    }

    assert run("--keep-text-only") == 0
    posts = read_posts(data_dir, "reddit").set_index("post_id")
    assert len(posts) == 6 and len(posts.loc["reddit:exact", "images"]) == 0
    assert run("--near-distance", "0") == 0  # exact hashes only: the re-encoded copy stays
    assert "reddit:near" in set(read_posts(data_dir, "reddit")["post_id"])


def test_split_per_class_and_byte_identical_reruns(data_dir: Path):
    reddit = StoreBuilder(data_dir, "reddit")
    seed = 0
    for label, count in (("joy", 31), ("fear", 20), ("anger", 9)):
        for n in range(count):
            seed += 1
            # ties in rank on purpose: broken by post_id
            reddit.post(f"{label}{n:02d}", label, f"Post {n}", rank=n // 3,
                        images=[jpeg_bytes(picture(seed))])  # fmt: skip
    reddit.store.close()
    assert run() == 0
    folder = data_dir / "curated" / "reddit"
    first = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    assert set(first) == {
        "posts.parquet",
        "dataset.json",
        "filter_report.json",
        "stats.md",
        "stats.csv",
    }
    posts = read_posts(data_dir, "reddit")
    counts = posts.groupby(["label", "split"]).size().to_dict()
    assert counts == {
        ("joy", "test"): 3, ("joy", "validation"): 3, ("joy", "train"): 25,
        ("fear", "test"): 2, ("fear", "validation"): 2, ("fear", "train"): 16,
        ("anger", "train"): 9,
    }  # fmt: skip
    # joy ranks 10 (joy30) then 9 (joy27, joy28, joy29): test takes the top three by post_id
    test_joy = sorted(posts[(posts.label == "joy") & (posts.split == "test")]["post_id"])
    assert test_joy == ["reddit:joy27", "reddit:joy28", "reddit:joy30"]
    assert run() == 0
    again = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    assert again == first
    assert run("--test-frac", "0.2", "--val-frac", "0.0") == 0
    assert read_posts(data_dir, "reddit").groupby("split").size().to_dict() == {
        "test": 11,
        "train": 49,
    }


def test_store_option_and_name_merge_stores(data_dir: Path, tmp_path: Path):
    elsewhere = tmp_path / "other-data"
    outside = StoreBuilder(elsewhere, "reddit")
    outside.post("x1", "joy", "Elsewhere", images=[jpeg_bytes(picture(7))])
    outside.store.close()
    flickr = StoreBuilder(data_dir, "flickr")
    flickr.post("f1", "awe", LONG_EN, votes=(3, 5), images=[jpeg_bytes(picture(8))])
    flickr.store.close()
    stores = [
        "--store",
        str(elsewhere / "raw" / "reddit"),
        "--store",
        str(data_dir / "raw" / "flickr"),
    ]
    assert run(*stores, "--name", "both", "--keep-text-only") == 0
    posts = read_posts(data_dir, "both").set_index("post_id")
    assert sorted(posts.index) == ["flickr:f1", "reddit:x1"]
    path = posts.loc["reddit:x1", "images"][0]["path"]
    assert (data_dir / path).resolve() == (elsewhere / "raw/reddit/images/x1/0.jpg").resolve()
    assert not (data_dir / "curated" / "reddit").exists()


def _snapshot(data: Path) -> dict:
    """Every file of the data directory (stores, images, curated data) and its bytes."""
    if not data.exists():
        return {}
    return {p: p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()}


def test_bad_inputs_exit_2_and_write_nothing(data_dir: Path, capsys):
    def refused(*args: str) -> str:
        """Run a curate that must be refused: exit 2, one line, the data dir untouched."""
        before = _snapshot(data_dir)
        assert run(*args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error:"), err
        assert _snapshot(data_dir) == before  # stores, images and curated data, byte for byte
        return err

    assert "no crawl store" in refused()  # no store at all
    assert not data_dir.exists()

    CrawlStore(data_dir / "raw" / "reddit" / "crawl.sqlite", source="reddit").close()
    assert "has no posts" in refused()  # an empty store
    assert not (data_dir / "curated").exists()

    reddit = StoreBuilder(data_dir, "reddit")
    reddit.post("a", "joy", "Fine", images=[jpeg_bytes(picture(1))])
    reddit.store.close()
    assert run() == 0
    capsys.readouterr()
    curated = (data_dir / "curated" / "reddit" / "posts.parquet").read_bytes()

    flickr = StoreBuilder(data_dir, "flickr")
    flickr.post("b", "boredom", LONG_EN, votes=(5, 5), images=[jpeg_bytes(picture(2))])
    flickr.store.close()
    assert "unknown class boredom" in refused()  # an unknown class in a store
    assert "unknown class nope" in refused(
        "--store", str(data_dir / "raw" / "reddit"), "--classes", "joy,nope"
    )

    conn = sqlite3.connect(data_dir / "raw" / "flickr" / "crawl.sqlite")
    with conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    conn.close()  # closed: no -wal/-shm file of this connection left beside the store
    assert "newer emofuse" in refused("--classes", "joy,boredom")  # a store from a newer emofuse
    for args in (
        ["--store", str(data_dir / "nowhere")],
        ["--test-frac", "0.6", "--val-frac", "0.5"],
        ["--rule", "reddit.colour=on"],
        ["--language-detector", "magic"],
    ):
        refused(*args)
    # the earlier dataset is still there, and no temporary folder is left beside it
    assert (data_dir / "curated" / "reddit" / "posts.parquet").read_bytes() == curated
    assert [p.name for p in (data_dir / "curated").iterdir()] == ["reddit"]


def test_no_image_rule_and_keep_text_only(data_dir: Path):
    reddit = StoreBuilder(data_dir, "reddit")
    reddit.post("img", "joy", "With image", images=[jpeg_bytes(picture(1))])
    # crawl status ok but its only image failed: kept only as text
    reddit.post("noimg", "anger", "Image lost", images=[], failed_images=1)
    reddit.store.close()
    assert run() == 0
    assert report_of(data_dir, "reddit")["removed"] == {"no_image": {"joy": 0, "anger": 1}}
    assert run("--keep-text-only") == 0
    posts = read_posts(data_dir, "reddit").set_index("post_id")
    assert list(posts.loc["reddit:noimg", "images"]) == []


def test_default_makes_one_dataset_per_store_and_classes_pick_across_them(data_dir: Path):
    reddit = StoreBuilder(data_dir, "reddit")
    reddit.post("j", "joy", "Happy", images=[jpeg_bytes(picture(1))])
    reddit.post("f", "fear", "Creepy", images=[jpeg_bytes(picture(2))])
    reddit.store.close()
    flickr = StoreBuilder(data_dir, "flickr")
    flickr.post("a", "awe", LONG_EN, votes=(3, 5), images=[jpeg_bytes(picture(3))])
    flickr.post("s", "sadness", LONG_EN + " too", votes=(3, 5), images=[jpeg_bytes(picture(4))])
    flickr.store.close()
    assert run("--classes", "joy,awe") == 0
    assert list(read_posts(data_dir, "reddit")["post_id"]) == ["reddit:j"]
    assert list(read_posts(data_dir, "flickr")["post_id"]) == ["flickr:a"]
    assert report_of(data_dir, "reddit")["removed"] == {"class": {"joy": 0, "fear": 1}}
    assert report_of(data_dir, "flickr")["removed"] == {"class": {"awe": 0, "sadness": 1}}


def test_a_file_that_is_not_a_store_is_refused_and_left_untouched(data_dir: Path, tmp_path: Path):
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database at all\n" * 10)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (x)")
    before = {p: p.read_bytes() for p in (text, other)}
    for path in (text, other):
        assert run("--store", str(path)) == 2
    assert {p: p.read_bytes() for p in (text, other)} == before
    assert not (data_dir / "curated").exists()


def test_a_post_in_two_stores_is_kept_once(data_dir: Path, tmp_path: Path):
    first = StoreBuilder(tmp_path / "crawl-1", "reddit")
    first.post("same", "joy", "First crawl", images=[jpeg_bytes(picture(1))])
    first.post("later", "joy", "Gone in the first crawl", status="gone")
    first.store.close()
    second = StoreBuilder(tmp_path / "crawl-2", "reddit")
    second.post("same", "joy", "Second crawl", images=[jpeg_bytes(picture(2))])
    second.post("later", "joy", "Found by the second crawl", images=[jpeg_bytes(picture(3))])
    second.store.close()
    stores = [str(tmp_path / name / "raw" / "reddit") for name in ("crawl-1", "crawl-2")]
    assert run("--store", stores[0], "--store", stores[1], "--name", "merged") == 0
    posts = read_posts(data_dir, "merged").set_index("post_id")
    assert posts["title"].to_dict() == {
        "reddit:same": "First crawl",
        "reddit:later": "Found by the second crawl",
    }
    assert report_of(data_dir, "merged")["removed"] == {
        "status:gone": {"joy": 1},
        "repeated_post": {"joy": 1},
    }


def test_an_image_in_two_splits_fails_loudly_and_writes_nothing(data_dir: Path, monkeypatch):
    """The leak check after splitting is the last line of defence: with the duplicate search
    disabled (as a bug would), a reposted image lands in test and train and curate stops."""
    from emofuse.curation import curate as curate_module
    from emofuse.curation.dedup import DedupResult
    from emofuse.curation.split import SplitLeakError

    reddit = StoreBuilder(data_dir, "reddit")
    for n in range(10):
        reddit.post(f"p{n}", "joy", f"Post {n}", rank=100 - n, images=[jpeg_bytes(picture(n))])
    # the lowest-ranked post (train) reposts the top post's picture (test), re-encoded
    reddit.post("repost", "joy", "Repost", rank=1, images=[jpeg_bytes(picture(0), quality=40)])
    reddit.store.close()
    before = _snapshot(data_dir)

    def keep_everything(sha256, phash, max_distance):
        return DedupResult(keep=[True] * len(sha256), reason=[None] * len(sha256))

    monkeypatch.setattr(curate_module, "deduplicate", keep_everything)
    with pytest.raises(SplitLeakError, match="near-identical images in (test|train)"):
        curate_module.curate(data_dir)
    assert _snapshot(data_dir) == before
    monkeypatch.undo()
    assert run("--data", str(data_dir)) == 0  # the real duplicate search: no leak
    assert "reddit:repost" not in set(read_posts(data_dir, "reddit")["post_id"])
