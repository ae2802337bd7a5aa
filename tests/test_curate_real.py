"""The paper's real Reddit release, imported text-only by the rehydrate stage, then curated.

Issue 4, item 10: 3,267 posts, split 2,617 / 325 / 325, joy 1,124, disgust 830, fear 698,
anger 615 in the printed statistics.
"""

import json
import re

import pyarrow.parquet as pq
import pytest

from emofuse.cli import main
from emofuse.crawlers.rehydrate import rehydrate


def test_real_reddit_release_curates_to_the_papers_counts(shared_data, data_dir, capsys):
    rehydrate(shared_data / "emoclassifier-reddit", data_dir, images=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["curate", "--split", "--keep-text-only", "--data", str(data_dir)])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().err

    posts = pq.read_table(data_dir / "curated" / "reddit" / "posts.parquet").to_pandas()
    assert len(posts) == 3267 and posts["post_id"].is_unique
    assert posts["split"].value_counts().to_dict() == {
        "train": 2617,
        "validation": 325,
        "test": 325,
    }
    assert posts["label"].value_counts().to_dict() == {
        "joy": 1124,
        "disgust": 830,
        "fear": 698,
        "anger": 615,
    }
    # the printed statistics table: one row per emotion with its post count
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in printed.splitlines()
        if line.startswith("│") and line.count("│") == 9  # the 8 columns of the statistics table
    }
    assert {k: rows[k] for k in ("joy", "disgust", "fear", "anger", "Total")} == {
        "joy": "1124",
        "disgust": "830",
        "fear": "698",
        "anger": "615",
        "Total": "3267",
    }
    # per class, test = the floor(10%) best-scored posts; nothing below the cut outranks it
    for _label, group in posts.groupby("label"):
        test = group[group["split"] == "test"]
        rest = group[group["split"] != "test"]
        assert len(test) == len(group) // 10
        assert test["rank"].min() >= rest["rank"].max()
    report = json.loads((data_dir / "curated" / "reddit" / "filter_report.json").read_text())
    assert sum(sum(counts.values()) for counts in report["removed"].values()) == 0
    assert report["rules_per_source"]["reddit"]["language"] is False

    # the length and language rules, switched on for the real titles
    with pytest.raises(SystemExit) as exit_info:
        main(["curate", "--keep-text-only", "--rule", "reddit.length=on",
              "--rule", "reddit.language=on", "--data", str(data_dir)])  # fmt: skip
    assert exit_info.value.code == 0
    strict = pq.read_table(data_dir / "curated" / "reddit" / "posts.parquet").to_pandas()
    report = json.loads((data_dir / "curated" / "reddit" / "filter_report.json").read_text())
    removed = {rule: sum(counts.values()) for rule, counts in report["removed"].items()}

    # length: words counted once URLs and r/ u/ links are gone ("Clown in water (X-Post
    # /r/Thalassophobia)" has 3), counted here independently of emofuse.curation.filters
    def words(title: str) -> int:
        return len(re.findall(r"[^\W_]+", re.sub(r"https?://\S+|(?<!\w)/?[ru]/\w+", " ", title)))

    short = {
        post_id
        for post_id, title in zip(posts["post_id"], posts["title"], strict=True)
        if words(title) < 6
    }
    assert removed["length"] == len(short) > 700
    assert not short & set(strict["post_id"])
    # language: the English titles that are long enough stay (>= 99%)
    assert removed["language"] <= 0.01 * (len(posts) - len(short))
    assert len(strict) == len(posts) - removed["length"] - removed["language"]

    # the class rule: two of the four subreddits kept, the others counted as removed
    with pytest.raises(SystemExit) as exit_info:
        main(["curate", "--keep-text-only", "--classes", "joy,fear", "--data", str(data_dir)])
    assert exit_info.value.code == 0
    report = json.loads((data_dir / "curated" / "reddit" / "filter_report.json").read_text())
    assert report["removed"]["class"] == {"joy": 0, "fear": 0, "anger": 615, "disgust": 830}
    assert report["kept"] == {"joy": 1124, "fear": 698}
    # the report is printed at the end as a table: one row per rule, a column per class
    printed = capsys.readouterr().err
    assert "reddit: posts removed per rule" in printed
    rule_rows = {
        cells[0]: cells[1:]
        for line in printed.splitlines()
        if line.startswith("│")
        and (cells := [c.strip() for c in line.strip("│").split("│")])[0].startswith(("-", "k"))
    }
    assert rule_rows["- class"] == ["0", "0", "615", "830", "1445"]
    assert rule_rows["kept"] == ["1124", "698", "0", "0", "1822"]
    kept = (data_dir / "curated" / "reddit" / "posts.parquet").read_bytes()

    # the no-image rule: imported without images, every real post goes, so curate refuses
    # (one line, exit 2) and the dataset written before stays as it was
    with pytest.raises(SystemExit) as exit_info:
        main(["curate", "--data", str(data_dir)])
    assert exit_info.value.code == 2
    assert "no_image 3267" in capsys.readouterr().err
    assert (data_dir / "curated" / "reddit" / "posts.parquet").read_bytes() == kept


def test_real_emotion6_photos_agreement_and_near_duplicates(shared_data, data_dir):
    """240 real Flickr photos of Emotion6 with their real rater votes, plus 12 re-posted copies
    (re-encoded at quality 40 and resized): the agreement rule removes exactly the photos
    without a strict majority, and the duplicate search removes exactly the 12 copies."""
    import hashlib
    import io

    import imagehash
    from PIL import Image

    from emofuse.crawlers.store import CrawlStore

    root = shared_data / "emotion6"
    lines = (root / "ground_truth.txt").read_text().splitlines()[1:]
    classes = ["anger", "disgust", "fear", "joy", "sadness", "surprise"]
    shares = {
        name: dict(zip(classes, map(float, values[2:8]), strict=True))
        for name, *values in (line.split("\t") for line in lines if line.strip())
    }
    store = CrawlStore(data_dir / "raw" / "flickr" / "crawl.sqlite", source="flickr")

    def add(native_id: str, label: str, content: bytes, agree: int, rank: float) -> None:
        post_id = f"flickr:{native_id}"
        store.upsert_post(
            {"post_id": post_id, "source": "flickr", "label": label, "title": f"photo {native_id}",
             "rank": rank, "votes_agree": agree, "votes_total": 1000},
            [f"https://live.example/{native_id}.jpg"],
        )  # fmt: skip
        relative = f"raw/flickr/images/{native_id}/0.jpg"
        (data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / relative).write_bytes(content)
        with Image.open(io.BytesIO(content)) as image:
            store.record_image(
                post_id, 0, status="ok", path=relative, phash=str(imagehash.phash(image)),
                sha256=hashlib.sha256(content).hexdigest(), width=image.width, height=image.height,
            )  # fmt: skip
        store.update_post(post_id, status="ok")

    files = sorted(root.glob("images/*/*.jpg"))
    assert len(files) == 240
    majority, copies = set(), []
    for path in files:
        name = f"{path.parent.name}/{path.name}"
        label, native_id = path.parent.name, f"{path.parent.name}-{path.stem}"
        # the published shares are averages over raters: votes per mille keep 3 decimals
        agree = round(shares[name][label] * 1000)
        add(native_id, label, path.read_bytes(), agree, rank=agree)
        if agree * 2 > 1000:
            majority.add(f"flickr:{native_id}")
            if len(copies) < 12 and len(majority) % 5 == 1:  # copies spread over classes
                with Image.open(path) as image:
                    smaller = image.convert("RGB").resize((image.width // 2, image.height // 2))
                    buffer = io.BytesIO()
                    smaller.save(buffer, "JPEG", quality=40)
                add(f"{native_id}-repost", label, buffer.getvalue(), agree, rank=-1)
                copies.append(f"flickr:{native_id}-repost")
    store.close()
    assert len(copies) == 12

    with pytest.raises(SystemExit) as exit_info:
        main(["curate", "--no-language", "--no-length", "--data", str(data_dir)])
    assert exit_info.value.code == 0
    report = json.loads((data_dir / "curated" / "flickr" / "filter_report.json").read_text())
    removed = {rule: sum(counts.values()) for rule, counts in report["removed"].items()}
    assert removed["agreement"] == 240 - len(majority)
    assert removed["duplicate"] == 12
    assert report["images"]["exact_duplicates"] + report["images"]["near_duplicates"] == 12
    posts = pq.read_table(data_dir / "curated" / "flickr" / "posts.parquet").to_pandas()
    assert set(posts["post_id"]) == majority  # every original with a majority, no copy
