"""The whole publishing path with real components: crawl the sandbox (PRAW), `emofuse curate`,
`emofuse release` (Parquet and --ids-only), then a third party rehydrates the ids-only release
from the sandbox and curates it: the same posts, labels, splits and image bytes come back."""

import json

import pandas as pd
import pytest
import yaml

from emofuse.cli import main
from emofuse.crawlers.sandbox.reddit_api import crawl_environment

FAST = ["--workers", "4"]


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    return exit_info.value.code


def curated(data) -> pd.DataFrame:
    posts = pd.read_parquet(data / "curated" / "reddit" / "posts.parquet")
    posts["image_sha256"] = posts["images"].map(lambda images: [i["sha256"] for i in images])
    return posts.set_index("post_id")


def test_ids_only_release_rehydrates_to_the_same_curated_posts(make_sandbox, tmp_path, monkeypatch):
    server = make_sandbox(seed=3, posts_per_subreddit=25)
    environment = crawl_environment(server)  # PRAW and the image hosts -> the sandbox
    environment.update(
        {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    )
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("EMOFUSE_SALT", raising=False)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"

    assert run_cli("crawl", "reddit", "--data", str(ours), "--backoff", "0.01", *FAST) == 0
    assert run_cli("curate", "--data", str(ours)) == 0
    original = curated(ours)
    assert len(original) > 40 and original["split"].nunique() == 3

    # the full release: loads offline, and its card reports what curate really removed
    full = tmp_path / "release-full"
    assert run_cli("release", "--data", str(ours), "--out", str(full)) == 0
    import datasets.config
    from datasets import load_dataset

    # read at import: force them (offline, and a cache of this test's own)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-home" / "datasets")
    ds = load_dataset(str(full))
    assert {split: ds[split].num_rows for split in ds} == original["split"].value_counts().to_dict()
    card = (full / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["dataset_info"]["splits"][0]["num_examples"] == ds["train"].num_rows
    report = json.loads((ours / "curated" / "reddit" / "filter_report.json").read_text())
    for rule, counts in report["removed"].items():
        assert f"| removed: {rule} | " + " | ".join(str(n) for n in counts.values()) in card
    # no user name of the sandbox's authors, and not the salt, anywhere in the release
    salt = (ours / ".salt").read_bytes().strip()
    released = b"".join(p.read_bytes() for p in sorted(full.rglob("*")) if p.is_file())
    authors = {post["author"] for post in server.world.posts.values() if post.get("author")}
    assert authors and salt not in released
    assert not [a for a in authors if f'"{a}"'.encode() in released or a.encode() in released]

    # the ids-only release, rehydrated by someone else from the sandbox, then curated
    ids = tmp_path / "release-ids"
    assert run_cli("release", "--data", str(ours), "--out", str(ids), "--ids-only") == 0
    assert run_cli("crawl", "rehydrate", "--from", str(ids), "--data", str(theirs), *FAST) == 0
    assert run_cli("curate", "--data", str(theirs)) == 0
    rebuilt = curated(theirs)
    columns = ["label", "split", "title", "rank", "image_sha256"]
    pd.testing.assert_frame_equal(rebuilt[columns].sort_index(), original[columns].sort_index())
