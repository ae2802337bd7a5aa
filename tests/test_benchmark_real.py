"""The paper's real Reddit release through the whole pipeline, text only (docs/results.md)."""

import json
from pathlib import Path

import pandas as pd
from benchmark_data import cli_exit_code


def test_real_reddit_release_text_only(shared_data: Path, tmp_path: Path):
    data = tmp_path / "data"
    release = shared_data / "emoclassifier-reddit"
    assert (
        cli_exit_code(
            "crawl", "rehydrate", "--from", str(release), "--no-images", "--data", str(data)
        )
        == 0
    )
    assert cli_exit_code("curate", "--split", "--keep-text-only", "--data", str(data)) == 0
    args = ["benchmark", "run", "--dataset", "reddit", "--models", "image,text,joint_fusion"]
    args += ["--seeds", "1", "--extractor", "color_stats", "--bootstrap", "200", "--no-report"]
    assert cli_exit_code(*args, "--run-id", "real", "--data", str(data)) == 0

    run = data / "runs" / "real"
    metrics = json.loads((run / "metrics.json").read_text())["datasets"]["reddit"]
    assert metrics["n_test"] == 325  # the per-class top 10% of 3,267 posts
    text = metrics["results"]["text"]["both"]
    # well above the largest class (joy, 112 of 325 test posts = 34%): the titles carry emotion
    assert text["n_scored"] == 325 and text["accuracy"]["mean"] > 0.6
    assert metrics["results"]["joint_fusion"]["text_only"]["accuracy"]["mean"] > 0.6
    image = metrics["results"]["image"]["both"]
    assert image["accuracy"] is None and image["note"].startswith("cannot score")
    assert metrics["paper"]["text"]["accuracy"] == 0.784
    table4 = (run / "tables" / "table4.md").read_text()
    assert "| Image-based classifier | n/a |" in table4 and "| 78.4 |" in table4
    predictions = pd.read_parquet(run / "predictions.parquet")
    assert predictions[predictions.model == "image"].pred.isna().all()
