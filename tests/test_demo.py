"""``emofuse demo`` exactly as the README runs it: in an empty folder, the whole real pipeline.

One real run of the README's own command, plain ``emofuse demo`` with its defaults (sandbox,
PRAW and flickrapi crawls, curation, six models, report, release; about 2.5 minutes on 2
cores); then every stage's output is checked against the others: the same posts,
splits and classes from the curated data to the run's tables, the report and the release.
"""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from emofuse.demo import DEMO_MARKER, _prepare_data_folder
from emofuse.errors import UserError
from emofuse.schema import FLICKR_CLASSES, REDDIT_CLASSES, SPLITS

MODELS = ["image", "text", "late_fusion", "early_fusion", "joint_fusion", "common_space"]
CLASSES = {"reddit": REDDIT_CLASSES, "flickr": FLICKR_CLASSES}
_SCRIPT = Path(sys.executable).parent / "emofuse"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``emofuse demo`` in an empty folder, with the default ./emofuse-data, as a user types it."""
    folder = tmp_path_factory.mktemp("newcomer")
    command = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "emofuse.cli"]
    result = subprocess.run(
        [*command, "demo"],  # exactly as the README says: no options
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**_clean_env(), "COLUMNS": "120"},
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return {"folder": folder, "data": folder / "emofuse-data", "result": result}


def _clean_env() -> dict:
    """The user's environment without EMOFUSE_DATA (the README relies on the default)."""
    import os

    return {k: v for k, v in os.environ.items() if k != "EMOFUSE_DATA"}


def _curated(data: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(data / "curated" / name / "posts.parquet")


def test_ends_with_the_report_path(demo_run: dict) -> None:
    lines = demo_run["result"].stdout.strip().splitlines()
    assert lines[-1].startswith("Report: ")
    report = Path(lines[-1].removeprefix("Report: "))
    assert report == demo_run["data"] / "runs" / "demo" / "report.html"
    assert report.is_file()
    assert "Traceback" not in demo_run["result"].stderr
    assert "skipped:" not in demo_run["result"].stderr  # every stage ran for real


def test_summary_shows_every_stage_done(demo_run: dict) -> None:
    err = demo_run["result"].stderr
    for stage in ("sandbox", "crawl reddit", "crawl flickr", "curate", "benchmark", "report"):
        assert f"│ {stage}" in err
    assert "done" in err and "r/morbidreality is banned" in err


@pytest.mark.parametrize("name", ["reddit", "flickr"])
def test_crawl_store_feeds_the_curated_data(demo_run: dict, name: str) -> None:
    data = demo_run["data"]
    posts = _curated(data, name)
    with sqlite3.connect(data / "raw" / name / "crawl.sqlite") as store:
        ok = {row[0] for row in store.execute("SELECT post_id FROM posts WHERE status='ok'")}
    assert set(posts["post_id"]) <= ok
    assert len(posts) >= 0.8 * len(ok)  # curation removes little of the sandbox's posts
    for images in posts["images"]:
        for image in images:
            assert (data / image["path"]).is_file()


@pytest.mark.parametrize("name", ["reddit", "flickr"])
def test_curated_splits_are_per_class(demo_run: dict, name: str) -> None:
    posts = _curated(demo_run["data"], name)
    assert set(posts["label"]) == set(CLASSES[name])
    assert set(posts["split"]) == set(SPLITS)
    for _, group in posts.groupby("label"):
        test = (group["split"] == "test").sum()
        assert test == len(group) // 10
        # the test posts are the top-ranked of their class
        assert group[group["split"] == "test"]["rank"].min() >= group["rank"].median()


@pytest.mark.parametrize("name", ["reddit", "flickr"])
def test_run_matches_the_curated_data(demo_run: dict, name: str) -> None:
    data = demo_run["data"]
    run = data / "runs" / "demo"
    posts = _curated(data, name)
    test_ids = set(posts.loc[posts["split"] == "test", "post_id"])
    metrics = json.loads((run / "metrics.json").read_text())["datasets"][name]
    assert metrics["classes"] == CLASSES[name]
    assert metrics["n_test"] == len(test_ids)
    assert sorted(metrics["results"]) == sorted(MODELS)
    for model in MODELS:
        accuracy = metrics["results"][model]["both"]["accuracy"]
        assert len(accuracy["per_seed"]) == 3  # the demo's default --seeds
        assert 1 / len(CLASSES[name]) - 0.1 < accuracy["mean"] <= 1.0  # trained, not guessing
    predictions = pd.read_parquet(run / "predictions.parquet")
    mine = predictions[predictions["dataset"] == name]
    assert set(mine["post_id"]) == test_ids
    assert set(mine["model"]) == set(MODELS)
    for table in ("table2", "table4", "table5"):
        for extension in ("md", "csv"):
            assert (run / "tables" / f"{table}.{extension}").is_file()
    table4 = (run / "tables" / "table4.md").read_text()
    assert name in table4.lower()
    table2 = pd.read_csv(run / "tables" / "table2.csv")
    rows = table2[(table2["dataset"] == name) & table2["emotion"].isin(CLASSES[name])]
    assert rows["posts"].sum() == len(posts)


def test_report_shows_both_datasets(demo_run: dict) -> None:
    html = (demo_run["data"] / "runs" / "demo" / "report.html").read_text()
    for name in ("reddit", "flickr"):
        assert name in html.lower()
    for model in ("joint_fusion", "common_space"):
        assert model in html or model.replace("_", " ") in html.lower()
    assert "<img" in html


@pytest.mark.parametrize("name", ["reddit", "flickr"])
def test_release_holds_the_curated_posts(demo_run: dict, name: str) -> None:
    data = demo_run["data"]
    release = data / "release" / name
    for file in ("README.md", "croissant.json", "SHA256SUMS", "release.json"):
        assert (release / file).is_file()
    posts = _curated(data, name)
    meta = json.loads((release / "release.json").read_text())
    assert meta["classes"] == CLASSES[name]
    for split in SPLITS:
        shards = sorted((release / "data").glob(f"{split}-*.parquet"))
        released = pd.concat([pd.read_parquet(shard) for shard in shards])
        curated_ids = set(posts.loc[posts["split"] == split, "post_id"])
        assert set(released["post_id"]) == curated_ids
        assert meta["splits"][split]["num_rows"] == len(curated_ids)
        assert released["image"].map(lambda image: len(image["bytes"]) > 0).all()


def test_no_secret_or_username_in_the_release(demo_run: dict) -> None:
    from emofuse.crawlers.sandbox.flickr_world import SANDBOX_FLICKR_SECRET
    from emofuse.crawlers.sandbox.reddit_api import SANDBOX_CREDENTIALS

    secrets = [SANDBOX_FLICKR_SECRET, *SANDBOX_CREDENTIALS.values()]
    release = demo_run["data"] / "release"
    for path in release.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(secret.encode() in content for secret in secrets), path
    # the sandbox's authors are user_<n> (Reddit) and Photographer <n> (Flickr): only hashes
    for shard in release.rglob("*.parquet"):
        frame = pd.read_parquet(shard, columns=["author_hash", "title", "body"])
        values = frame.astype(str).to_numpy().ravel()
        assert not any(v.startswith(("user_", "Photographer ")) for v in values), shard


def test_an_earlier_demo_folder_is_replaced(tmp_path: Path) -> None:
    """A rerun in the same folder starts afresh; anything not made by the demo is refused."""
    folder = tmp_path / "emofuse-data"
    _prepare_data_folder(folder, explicit=True)
    (folder / "runs" / "demo").mkdir(parents=True)
    (folder / "runs" / "demo" / "metrics.json").write_text("{}")
    _prepare_data_folder(folder, explicit=True)
    assert not (folder / "runs").exists()
    assert (folder / DEMO_MARKER).is_file()

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="did not make"):
        _prepare_data_folder(theirs, explicit=True)
    assert (theirs / "notes.txt").read_text() == "mine"
    assert not (theirs / DEMO_MARKER).exists()


def test_findings_read_the_metrics(demo_run: dict) -> None:
    """The summary's findings are computed from metrics.json, not written in advance."""
    from emofuse.demo import _findings

    metrics = json.loads((demo_run["data"] / "runs" / "demo" / "metrics.json").read_text())
    lines = _findings(metrics)
    assert [line.split(":")[0] for line in lines] == list(metrics["datasets"])
    reddit = metrics["datasets"]["reddit"]["results"]
    text = 100 * reddit["text"]["both"]["accuracy"]["mean"]
    image = 100 * reddit["image"]["both"]["accuracy"]["mean"]
    best = "text" if text >= image else "image"
    reddit_line = next(line for line in lines if line.startswith("reddit"))
    assert f"best single model, {best} {max(text, image):.1f}:" in reddit_line
    tests = metrics["datasets"]["reddit"]["mcnemar"]
    for model in ("late_fusion", "early_fusion", "joint_fusion", "common_space"):
        mean = 100 * reddit[model]["both"]["accuracy"]["mean"]
        (test,) = [
            t
            for t in tests
            if t["condition"] == "both" and {t["model_a"], t["model_b"]} == {model, best}
        ]
        p = "p<0.001" if test["p_holm"] < 0.001 else f"p={test['p_holm']:.3f}"
        assert f"{model} {mean:.1f} ({p})" in reddit_line
    assert "fusion models above the best single model" in demo_run["result"].stderr


def _metrics(accuracies: dict[tuple[str, str], float], p_holm: float) -> dict:
    """A metrics.json of one dataset with these mean accuracies, every McNemar test at p_holm."""
    results: dict = {}
    for (model, condition), mean in accuracies.items():
        results.setdefault(model, {})[condition] = {"accuracy": {"mean": mean}}
    tests = [
        {"model_a": a, "model_b": b, "condition": c, "p_holm": p_holm}
        for a, b, c in [
            ("text", "late_fusion", "both"),
            ("joint_fusion", "common_space", "image_only"),
        ]
    ]
    return {"datasets": {"reddit": {"results": results, "mcnemar": tests}}}


def test_findings_count_what_holds_and_what_does_not() -> None:
    """A fusion model below the best single model, or common space below joint fusion, is
    counted as such: the line reports the run, whichever way it went."""
    from emofuse.demo import _findings

    accuracies = {
        ("image", "both"): 0.60,
        ("text", "both"): 0.70,
        ("late_fusion", "both"): 0.80,
        ("early_fusion", "both"): 0.65,  # below the text
        ("joint_fusion", "both"): 0.75,
        ("common_space", "both"): 0.72,
        ("joint_fusion", "image_only"): 0.50,
        ("common_space", "image_only"): 0.55,
        ("joint_fusion", "text_only"): 0.69,
        ("common_space", "text_only"): 0.61,  # below joint fusion
    }
    (line,) = _findings(_metrics(accuracies, p_holm=0.0004))
    assert line.startswith("reddit: 3 of 4 fusion models above the best single model, text 70.0")
    assert "late_fusion 80.0 (p<0.001)" in line and "early_fusion 65.0 (p=n/a)" in line
    assert "common_space above joint_fusion in 1 of 2" in line
    assert "only the image 55.0 vs 50.0 (p<0.001)" in line
    assert "only the text 61.0 vs 69.0 (p=n/a)" in line
