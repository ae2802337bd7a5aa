"""The paper's real Reddit release, imported text-only by the rehydrate stage, then curated.

Issue 4, item 10: 3,267 posts, split 2,617 / 325 / 325, joy 1,124, disgust 830, fear 698,
anger 615 in the printed statistics.
"""

import json

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
