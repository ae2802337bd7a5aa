"""Tables 2, 4 and 5 written from metrics built by the real statistics code."""

import json

import numpy as np
import pandas as pd
import pytest

from emofuse.benchmark import paper, stats, tables

CONDITIONS = ("both", "image_only", "text_only")


def _metrics() -> dict:
    """A reddit-like dataset where every model scores, and a text-only one where some cannot."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 60)

    def predictions(accuracy: float, scorable: bool = True) -> np.ndarray:
        if not scorable:
            return np.full((2, 60), stats.UNSCORED)
        right = rng.random((2, 60)) < accuracy
        return np.where(right, y, (y + 1) % 4)

    full = {"classes": ["joy", "fear", "anger", "disgust"], "n_test": 60, "results": {}}
    text_only = {"classes": ["joy", "fear", "anger", "disgust"], "n_test": 60, "results": {}}
    for model in tables.MODEL_LABELS:
        full["results"][model] = {c: stats.summarize(y, predictions(0.8), 4) for c in CONDITIONS}
        # text-only data: only the text model and the joint models given the text can score
        can_score = model in ("text", "joint_fusion", "common_space")
        text_only["results"][model] = {
            "both": stats.summarize(y, predictions(0.7, can_score), 4),
            "image_only": stats.summarize(y, predictions(0, False), 4),
            "text_only": stats.summarize(y, predictions(0.7, can_score), 4),
        }
    full["results"]["late_fusion"]["both"] = stats.summarize(
        y, np.where(np.arange(60) < 50, predictions(0.9), stats.UNSCORED), 4
    )
    full["paper"] = paper.paper_table4("reddit")
    full["paper_table5"] = paper.paper_table5("reddit")
    return {"run_id": "test", "datasets": {"reddit": full, "mine-text": text_only}}


def test_table4_in_every_format(tmp_path):
    metrics = _metrics()
    paths = tables.write_table4(metrics, tmp_path)
    assert sorted(p.name for p in paths) == [f"table4.{e}" for e in ("csv", "json", "md", "tex")]
    markdown = (tmp_path / "table4.md").read_text()
    assert "## reddit (n_test = 60)" in markdown and "## mine-text (n_test = 60)" in markdown
    text_acc = metrics["datasets"]["reddit"]["results"]["text"]["both"]["accuracy"]
    expected = (
        f"| Text-based classifier | {100 * text_acc['mean']:.2f} ± {100 * text_acc['std']:.2f} |"
    )
    assert expected in markdown
    assert "| 78.4 | 0.77 | 0.78 |" in markdown  # the paper's text classifier on reddit
    # late fusion scored 50 of 60 posts: marked, with the count
    late_row = next(line for line in markdown.splitlines() if line.startswith("| Late fusion"))
    assert tables.PARTIAL_MARK in late_row and "| 50/60 |" in late_row
    # the image model cannot score a text-only dataset: n/a, 0 scored, never a number
    section = markdown.split("## mine-text")[1]
    image_row = next(line for line in section.splitlines() if line.startswith("| Image-based"))
    assert image_row.count("n/a") >= 4 and "| 0/60 |" in image_row

    frame = pd.read_csv(tmp_path / "table4.csv")
    assert len(frame) == 12
    row = frame[(frame.dataset == "reddit") & (frame.model == "text")].iloc[0]
    assert row.accuracy_mean == pytest.approx(text_acc["mean"])
    assert row.paper_accuracy == pytest.approx(0.784)
    image_text_only = frame[(frame.dataset == "mine-text") & (frame.model == "image")].iloc[0]
    assert np.isnan(image_text_only.accuracy_mean) and image_text_only.n_scored == 0

    records = json.loads((tmp_path / "table4.json").read_text())
    assert records[0]["dataset"] == "reddit" and records[0]["model"] == "image"
    latex = (tmp_path / "table4.tex").read_text()
    assert latex.count(r"\begin{tabular}") == 2 and r"$\pm$" in latex and r"\%" in latex
    assert "mine-text" in latex and "late_fusion" not in latex  # labels, not raw names


def test_table5_uses_single_modality_conditions(tmp_path):
    metrics = _metrics()
    tables.write_table5(metrics, tmp_path)
    frame = pd.read_csv(tmp_path / "table5.csv")
    assert len(frame) == 12  # 2 datasets x 3 rows x 2 modalities
    reddit = frame[frame.dataset == "reddit"].set_index(["row", "condition"])
    image_only = metrics["datasets"]["reddit"]["results"]["image"]["image_only"]
    assert reddit.loc[("single-input classifier", "image_only"), "accuracy_mean"] == pytest.approx(
        image_only["accuracy"]["mean"]
    )
    assert reddit.loc[("joint fusion", "image_only"), "paper_accuracy"] == pytest.approx(0.3583)
    assert reddit.loc[("common space fusion", "text_only"), "paper_accuracy"] == pytest.approx(
        0.7196
    )
    mine = frame[frame.dataset == "mine-text"].set_index(["row", "condition"])
    assert np.isnan(mine.loc[("joint fusion", "image_only"), "accuracy_mean"])
    assert mine.loc[("joint fusion", "text_only"), "n_scored"] == 60
    markdown = (tmp_path / "table5.md").read_text()
    assert "| joint fusion |" in markdown and "| 35.83 | 69.47 |" in markdown
    assert (tmp_path / "table5.tex").read_text().count(r"\toprule") == 2


def test_table2_copies_curated_stats_and_counts_when_absent(tmp_path):
    with_stats = tmp_path / "curated" / "reddit"
    with_stats.mkdir(parents=True)
    (with_stats / "stats.md").write_text(
        "# Stats\n\n| emotion | posts |\n|---|---:|\n| joy | 7 |\n"
    )
    (with_stats / "stats.csv").write_text("emotion,posts\njoy,7\n")
    without = tmp_path / "curated" / "other"
    without.mkdir(parents=True)
    pd.DataFrame({"label": ["joy", "joy", "fear"], "split": ["train", "test", "train"]}).to_parquet(
        without / "posts.parquet"
    )
    out = tmp_path / "tables"
    tables.write_table2({"reddit": with_stats, "other": without}, out)
    markdown = (out / "table2.md").read_text()
    assert "| joy | 7 |" in markdown and "\n### Stats\n" in markdown  # nested under ## reddit
    assert "| joy | 1119 |" in markdown  # the paper's reddit Table 2 beside ours
    assert "| fear | 0 | 1 | 1 |" in markdown  # counted from posts.parquet: test, train, posts
    frame = pd.read_csv(out / "table2.csv")
    assert set(frame.dataset) == {"reddit", "other"}
    assert frame[frame.dataset == "other"].set_index("emotion").loc["joy", "posts"] == 2


def test_paper_dataset_matching():
    assert paper.paper_dataset_for("reddit") == "reddit"
    assert paper.paper_dataset_for("reddit-text") == "reddit"
    assert paper.paper_dataset_for("redditors") is None
    assert paper.paper_dataset_for("mine", ["flickr"]) == "flickr"
    assert paper.paper_dataset_for("mixed", ["flickr", "reddit"]) is None
    # dataset.json as `emofuse curate` writes it
    written = [{"store": "raw/flickr/crawl.sqlite", "source": ["flickr"], "posts": 9}]
    assert paper.paper_dataset_for("mine", written) == "flickr"
    written.append({"store": "raw/reddit/crawl.sqlite", "source": ["reddit"], "posts": 3})
    assert paper.paper_dataset_for("mine", written) is None
    assert sum(paper.PAPER_TABLE2["flickr"].values()) == paper.PAPER_TABLE2_TOTALS["flickr"]


def test_latex_escape():
    assert tables.latex_escape("a_b 50% & #1 ± x†") == r"a\_b 50\% \& \#1 $\pm$ x$^\dagger$"
