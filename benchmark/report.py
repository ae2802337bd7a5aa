"""report.html: the page a researcher looks at after a benchmark run.

``build_report(run_dir)`` reads what ``emofuse benchmark run`` wrote (docs/contracts.md:
``metrics.json``, ``predictions.parquet``, ``config.json``, ``tables/``) and the curated posts
the run used (for thumbnails and text), draws the plots with Matplotlib into ``plots/``, and
renders ``benchmark/templates/report.html.j2`` with Jinja2 into one self-contained
``report.html`` (plots and thumbnails inlined as base64, so the file can be mailed or opened
anywhere). It is rebuilt alone with ``emofuse benchmark report RUN``.

The qualitative panels (the paper's Tables 6 and 7) are chosen automatically from the test
predictions, each model's prediction being its majority over seeds (ties: the lowest seed):

- Table 6, both modalities given: posts on which the models disagree, first those where a
  fusion model is right and a single-modality baseline wrong, then the reverse.
- Table 7, one modality missing: posts whose predictions change when the image or the text
  is taken away, first those where a one-modality prediction is right and the matching
  baseline (image model, text model) wrong. Posts that had only one modality to begin with
  (a text-only post) are marked as such.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from emofuse.benchmark.train import CONDITIONS
from emofuse.errors import UserError

CONDITION_LABELS = {"both": "image + text", "image_only": "image only", "text_only": "text only"}
FUSION_MODELS = ("late_fusion", "early_fusion", "joint_fusion", "common_space")
JOINT_MODELS = ("joint_fusion", "common_space")  # the ones that accept a missing modality
THUMBNAIL_SIZE = (160, 160)
TEXT_PREVIEW_CHARS = 220
DEFAULT_EXAMPLES = 6


# -- reading the run ----------------------------------------------------------------------
def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON ({error})", "re-run the benchmark") from error


def load_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """metrics, config and predictions (a DataFrame, or None) of a run folder."""
    import pandas as pd

    run_dir = Path(run_dir)
    if not (run_dir / "metrics.json").is_file():
        raise UserError(
            f"{run_dir} is not a benchmark run (metrics.json missing)",
            "pass a folder under <data>/runs/ written by `emofuse benchmark run`",
        )
    metrics = _read_json(run_dir / "metrics.json")
    if not isinstance(metrics.get("datasets"), dict):
        raise UserError(f"{run_dir / 'metrics.json'} has no datasets", "re-run the benchmark")
    config = _read_json(run_dir / "config.json") if (run_dir / "config.json").is_file() else {}
    predictions = None
    if (run_dir / "predictions.parquet").is_file():
        predictions = pd.read_parquet(run_dir / "predictions.parquet")
    return metrics, config, predictions


def _data_dir_of(run_dir: Path, config: dict[str, Any]) -> Path:
    """<data>: config's data_dir, else the folder two levels above runs/<run-id>."""
    if config.get("data_dir"):
        return Path(config["data_dir"])
    return Path(run_dir).resolve().parents[1]


def curated_posts(run_dir: Path, config: dict[str, Any], dataset: str) -> tuple[Any, Path]:
    """The curated posts of a dataset (indexed by post_id) and the data dir, or (None, dir)."""
    import pandas as pd

    data = _data_dir_of(run_dir, config)
    recorded = (config.get("datasets") or {}).get(dataset) or {}
    candidates = [Path(recorded["curated"])] if recorded.get("curated") else []
    candidates.append(data / "curated" / dataset)
    for folder in candidates:
        if (folder / "posts.parquet").is_file():
            posts = pd.read_parquet(folder / "posts.parquet")
            # image paths are relative to the data dir the curated folder lives in
            return posts.set_index("post_id", drop=False), folder.resolve().parents[1]
    return None, data


# -- numbers and tables -------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def accuracy_cell(entry: dict[str, Any] | None) -> dict[str, Any]:
    """One model in one condition: accuracy mean ± std, its interval and how many scored."""
    if not entry or not entry.get("accuracy"):
        return {"available": False, "text": "n/a", "interval": "", "scored": "0"}
    accuracy = entry["accuracy"]
    n_scored, n_unscored = entry.get("n_scored", 0), entry.get("n_unscored", 0)
    return {
        "available": True,
        "text": f"{_pct(accuracy['mean'])} ± {_pct(accuracy.get('std') or 0.0)}",
        "interval": f"[{_pct(accuracy.get('ci_low'))}, {_pct(accuracy.get('ci_high'))}]",
        "scored": f"{n_scored}/{n_scored + n_unscored}",
        "partial": bool(n_unscored),
    }


def condition_table(dataset: dict[str, Any]) -> list[dict[str, Any]]:
    """Every model's accuracy with both inputs, with the text missing, with the image missing."""
    return [
        {"model": model, "cells": [accuracy_cell(conditions.get(c)) for c in CONDITIONS]}
        for model, conditions in dataset["results"].items()
    ]


def table2_html(run_dir: Path, dataset: str, posts: Any) -> tuple[list[str], list[list[str]]]:
    """Posts per emotion and split: tables/table2.csv if the run wrote it, else counted."""
    import pandas as pd

    csv = Path(run_dir) / "tables" / "table2.csv"
    frame = None
    if csv.is_file():
        table = pd.read_csv(csv)
        if "dataset" in table.columns:
            frame = table[table["dataset"] == dataset].drop(columns=["dataset"])
            frame = frame.dropna(axis=1, how="all")
    if (frame is None or frame.empty) and posts is not None:
        counts = posts.pivot_table(index="label", columns="split", aggfunc="size", fill_value=0)
        counts = counts.reindex(columns=[c for c in ("train", "validation", "test") if c in counts])
        counts["posts"] = counts.sum(axis=1)
        frame = counts.reset_index().rename(columns={"label": "emotion"})
    if frame is None or frame.empty:
        return [], []
    headers = [str(c) for c in frame.columns]
    rows = [["" if pd.isna(v) else str(v) for v in row] for row in frame.itertuples(index=False)]
    return headers, rows


def with_paper_table2(
    headers: list[str], rows: list[list[str]], paper_dataset: str | None
) -> tuple[list[str], list[list[str]]]:
    """Table 2 with the paper's posts per emotion beside ours, when there is a counterpart."""
    from emofuse.benchmark.paper import PAPER_TABLE2, PAPER_TABLE2_TOTALS

    if not paper_dataset or paper_dataset not in PAPER_TABLE2 or "emotion" not in headers:
        return headers, rows
    counts = PAPER_TABLE2[paper_dataset]
    at = headers.index("emotion")
    extended = []
    for row in rows:
        emotion = row[at]
        if emotion in counts:
            theirs = str(counts[emotion])
        elif emotion.lower() == "total":
            theirs = str(PAPER_TABLE2_TOTALS[paper_dataset])
        else:
            theirs = "–"
        extended.append([*row, theirs])
    return [*headers, "paper #posts"], extended


def mcnemar_rows(dataset: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for test in dataset.get("mcnemar") or []:
        rows.append(
            {
                "condition": CONDITION_LABELS.get(test.get("condition"), test.get("condition")),
                "model_a": test.get("model_a"),
                "model_b": test.get("model_b"),
                "n": test.get("n_both_scored", ""),
                "only_a": test.get("only_a_correct", ""),
                "only_b": test.get("only_b_correct", ""),
                "method": test.get("method", ""),
                "statistic": _fmt(test.get("statistic")),
                "p_value": _fmt(test.get("p_value")),
                "p_holm": _fmt(test.get("p_holm")),
                "significant": bool(test.get("significant")),
            }
        )
    return rows


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


# -- plots ----------------------------------------------------------------------------------
def _png(figure: Any, path: Path) -> str:
    """Save a figure beside the report and return it as a base64 PNG for inlining."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    path.write_bytes(buffer.getvalue())
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def accuracy_chart(name: str, dataset: dict[str, Any], path: Path) -> str:
    """Grouped bars: every model's accuracy in each condition, 95% bootstrap interval as error
    bar; the paper's Table 4 accuracy as a black diamond where there is one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    models = list(dataset["results"])
    colors = {"both": "#4c72b0", "image_only": "#dd8452", "text_only": "#55a868"}
    width = 0.26
    figure, axis = plt.subplots(figsize=(max(6.0, 1.25 * len(models) + 2), 3.6))
    x = np.arange(len(models))
    for offset, condition in zip((-width, 0.0, width), CONDITIONS, strict=True):
        labelled = False  # one legend entry per condition, on its first drawn bar
        for i, model in enumerate(models):
            entry = dataset["results"][model].get(condition) or {}
            accuracy = entry.get("accuracy")
            if not accuracy:
                axis.text(
                    x[i] + offset,
                    0.01,
                    "n/a",
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    rotation=90,
                    color="#777",
                )
                continue
            mean = accuracy["mean"]
            low = accuracy.get("ci_low", mean) if accuracy.get("ci_low") is not None else mean
            high = accuracy.get("ci_high", mean) if accuracy.get("ci_high") is not None else mean
            axis.bar(
                x[i] + offset,
                mean,
                width,
                color=colors[condition],
                label=None if labelled else CONDITION_LABELS[condition],
            )
            labelled = True
            axis.errorbar(
                x[i] + offset,
                mean,
                yerr=[[max(mean - low, 0)], [max(high - mean, 0)]],
                color="black",
                capsize=3,
                linewidth=1,
            )
    paper = dataset.get("paper") or {}
    paper_x = [x[i] - width for i, m in enumerate(models) if m in paper]
    paper_y = [paper[m]["accuracy"] for m in models if m in paper]
    if paper_x:
        axis.scatter(
            paper_x, paper_y, marker="D", color="black", s=18, zorder=3, label="paper (Table 4)"
        )
    # outside the axes, on the right: inside it would hide the bars of the last models
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    axis.set_xticks(x, [m.replace("_", " ") for m in models], fontsize=9)
    axis.set_ylim(0, 1.0)
    axis.set_ylabel("test accuracy")
    axis.set_title(f"{name}: accuracy per model (error bars: 95% bootstrap interval)", fontsize=10)
    axis.grid(axis="y", alpha=0.3)
    return _png(figure, path)


def confusion_chart(name: str, dataset: dict[str, Any], path: Path) -> str | None:
    """One confusion matrix per model (both modalities, summed over seeds), row-normalised
    colours with the counts written in."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    classes = dataset["classes"]
    matrices = [
        (model, np.asarray(conditions["both"]["confusion"]))
        for model, conditions in dataset["results"].items()
        if (conditions.get("both") or {}).get("confusion")
    ]
    if not matrices:
        return None
    columns = min(3, len(matrices))
    rows = (len(matrices) + columns - 1) // columns
    cell = 0.42 * len(classes) + 1.4
    figure, axes = plt.subplots(rows, columns, figsize=(cell * columns, cell * rows), squeeze=False)
    for axis in axes.flat[len(matrices) :]:
        axis.axis("off")
    for axis, (model, matrix) in zip(axes.flat, matrices, strict=False):
        totals = matrix.sum(axis=1, keepdims=True)
        normalised = np.divide(
            matrix, totals, out=np.zeros_like(matrix, dtype=float), where=totals > 0
        )
        axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(classes)):
            for j in range(len(classes)):
                axis.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if normalised[i, j] > 0.6 else "black",
                )
        axis.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=7)
        axis.set_yticks(range(len(classes)), classes, fontsize=7)
        axis.set_title(model.replace("_", " "), fontsize=9)
        axis.set_xlabel("predicted", fontsize=7)
        axis.set_ylabel("true", fontsize=7)
    figure.suptitle(f"{name}: confusion matrices (image + text, all seeds)", fontsize=10)
    figure.tight_layout()
    return _png(figure, path)


# -- qualitative panels (paper Tables 6 and 7) -------------------------------------------
def majority_predictions(predictions: Any, dataset: str) -> dict[tuple[str, str], dict]:
    """{(model, condition): {post_id: class or None}}: majority over seeds, ties to the
    lowest seed; None when no seed scored the post."""
    frame = predictions[predictions["dataset"] == dataset]
    if "seed" in frame.columns:
        frame = frame.sort_values("seed", kind="stable")
    result: dict[tuple[str, str], dict[str, Any]] = {}
    for (model, condition, post_id), preds in frame.groupby(
        ["model", "condition", "post_id"], sort=False
    )["pred"]:
        votes = Counter(p for p in preds if p is not None and p == p)
        result.setdefault((model, condition), {})[post_id] = (
            votes.most_common(1)[0][0] if votes else None
        )
    return result


def _truth(predictions: Any, dataset: str) -> dict[str, str]:
    frame = predictions[predictions["dataset"] == dataset]
    return dict(zip(frame["post_id"], frame["label"], strict=True))


def _diverse(scored: list[tuple[tuple, str]], truth: dict[str, str], k: int) -> list[str]:
    """The best k posts by score, spread over the true classes (no class twice before all
    classes had one, when there are enough candidates)."""
    ordered = [post for _, post in sorted(scored)]
    chosen: list[str] = []
    per_class: Counter[str] = Counter()
    for limit in range(1, k + 1):
        for post in ordered:
            if len(chosen) == k:
                return chosen
            if post not in chosen and per_class[truth[post]] < limit:
                chosen.append(post)
                per_class[truth[post]] += 1
    return chosen


def pick_disagreements(majority: dict, truth: dict[str, str], k: int) -> list[str]:
    """Table 6: posts where the models, given image and text, do not all agree."""
    models = [m for (m, c) in majority if c == "both"]
    scored = []
    for post, label in truth.items():
        preds = {m: majority[(m, "both")].get(post) for m in models}
        given = [p for p in preds.values() if p is not None]
        if len(set(given)) < 2:
            continue
        fusion_right = any(preds.get(m) == label for m in FUSION_MODELS)
        single_wrong = any(preds.get(m) not in (None, label) for m in ("image", "text"))
        single_right = any(preds.get(m) == label for m in ("image", "text"))
        fusion_wrong = any(preds.get(m) not in (None, label) for m in FUSION_MODELS)
        helps = fusion_right and single_wrong
        hurts = fusion_wrong and single_right
        scored.append(((-int(helps), -int(hurts), -len(set(given)), post), post))
    return _diverse(scored, truth, k)


def pick_missing_modality(majority: dict, truth: dict[str, str], k: int) -> list[str]:
    """Table 7: posts whose predictions change when one modality is taken away."""
    scored = []
    keys = [key for key in majority if key[1] != "both" or key[0] in ("image", "text")]
    for post, label in truth.items():
        cells = {key: majority[key].get(post) for key in keys}
        given = [p for p in cells.values() if p is not None]
        changed = any(
            majority[(m, c)].get(post) not in (None, majority.get((m, "both"), {}).get(post))
            for (m, c) in majority
            if c != "both"
        )
        if not changed and len(set(given)) < 2:
            continue
        baseline_wrong = {
            "image_only": majority.get(("image", "both"), {}).get(post) != label,
            "text_only": majority.get(("text", "both"), {}).get(post) != label,
        }
        rescued = any(
            majority[(m, c)].get(post) == label and baseline_wrong.get(c, False)
            for (m, c) in majority
            if m in JOINT_MODELS and c != "both"
        )
        scored.append(((-int(rescued), -int(changed), -len(set(given)), post), post))
    return _diverse(scored, truth, k)


def _one_modality(posts: Any, post_id: str) -> bool:
    """The curated post has no image, or no text."""
    if posts is None or post_id not in posts.index:
        return False
    images, text = posts.loc[post_id, "images"], posts.loc[post_id, "text"]
    return images is None or not len(images) or not str(text or "").strip()


def _thumbnail(data: Path, posts: Any, post_id: str) -> tuple[str | None, int | None]:
    """A small JPEG of the post's first image as base64, and the post's image count (None
    when the curated post is not found: unknown, not "text only")."""
    from PIL import Image

    if posts is None or post_id not in posts.index:
        return None, None
    images = posts.loc[post_id, "images"]
    if images is None or not len(images):
        return None, 0
    try:
        with Image.open(data / images[0]["path"]) as image:
            image = image.convert("RGB")
            image.thumbnail(THUMBNAIL_SIZE)
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=80)
    except OSError:  # missing or unreadable file: the panel shows the text alone
        return None, len(images)
    return base64.b64encode(buffer.getvalue()).decode("ascii"), len(images)


def panel(
    post_ids: list[str],
    rows: list[tuple[str, str, str]],
    majority: dict,
    truth: dict[str, str],
    posts: Any,
    data: Path,
) -> dict[str, Any]:
    """Columns = posts (thumbnail, text), rows = ground truth then one row per (model, cond)."""
    columns = []
    for post in post_ids:
        thumbnail, n_images = _thumbnail(data, posts, post)
        text = ""
        if posts is not None and post in posts.index:
            text = str(posts.loc[post, "text"] or "")
        if len(text) > TEXT_PREVIEW_CHARS:
            text = text[: TEXT_PREVIEW_CHARS - 1].rstrip() + "…"
        columns.append(
            {
                "post_id": post,
                "thumbnail": thumbnail,
                "n_images": n_images,
                "text": text,
                "has_text": bool(text.strip()),
                "truth": truth[post],
            }
        )
    table_rows = []
    for label, model, condition in rows:
        cells = []
        for post in post_ids:
            predicted = majority.get((model, condition), {}).get(post)
            cells.append(
                {
                    "pred": predicted if predicted is not None else "—",
                    "state": "none"
                    if predicted is None
                    else ("right" if predicted == truth[post] else "wrong"),
                }
            )
        table_rows.append({"label": label, "cells": cells})
    return {"columns": columns, "rows": table_rows}


def qualitative_panels(
    predictions: Any, name: str, posts: Any, data: Path, k: int
) -> dict[str, Any] | None:
    if predictions is None or not (predictions["dataset"] == name).any():
        return None
    majority = majority_predictions(predictions, name)
    truth = _truth(predictions, name)
    models = list(dict.fromkeys(m for (m, _) in majority))

    def label(model: str) -> str:
        return model.replace("_", " ")

    both_rows = [(label(m), m, "both") for m in models if (m, "both") in majority]
    missing_rows = []
    for model in models:
        for condition in CONDITIONS:
            if (model, condition) not in majority:
                continue
            values = majority[(model, condition)]
            if condition != "both" and all(v is None for v in values.values()):
                continue  # e.g. the text model given only the image: never scores
            if condition != "both" and values == majority.get((model, "both")):
                continue  # the image model given only the image: same as its own row
            suffix = "" if condition == "both" else f" – {CONDITION_LABELS[condition]}"
            missing_rows.append((label(model) + suffix, model, condition))
    table6 = pick_disagreements(majority, truth, k)
    table7 = pick_missing_modality(majority, truth, k)
    # posts that have only one modality to begin with are classified from it alone: show one
    native = [p for p in truth if _one_modality(posts, p)]
    if native and not set(native) & set(table7):
        table7 = table7[: k - 1] + [native[0]]
    return {
        "table6": panel(table6, both_rows, majority, truth, posts, data) if table6 else None,
        "table7": panel(table7, missing_rows, majority, truth, posts, data) if table7 else None,
    }


# -- the page -------------------------------------------------------------------------------
def build_report(run_dir: Path, examples: int = DEFAULT_EXAMPLES) -> Path:
    """Write ``<run_dir>/report.html`` (and ``plots/*.png``) and return its path."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from emofuse import __version__
    from emofuse.benchmark.tables import MODEL_LABELS, table4_rows, table5_rows

    run_dir = Path(run_dir)
    metrics, config, predictions = load_run(run_dir)
    plots = run_dir / "plots"
    plots.mkdir(exist_ok=True)
    sections = []
    for name, dataset in metrics["datasets"].items():
        posts, data = curated_posts(run_dir, config, name)
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
        t4_headers, t4_rows = table4_rows(metrics, name)
        t5_headers, t5_rows = table5_rows(metrics, name)
        t2_headers, t2_rows = with_paper_table2(
            *table2_html(run_dir, name, posts), dataset.get("paper_dataset")
        )
        sections.append(
            {
                "name": name,
                "anchor": safe,
                "classes": dataset["classes"],
                "n_test": dataset.get("n_test"),
                "paper_dataset": dataset.get("paper_dataset"),
                "table2": {"headers": t2_headers, "rows": t2_rows},
                "table4": {"headers": t4_headers, "rows": t4_rows},
                "table5": {"headers": t5_headers, "rows": t5_rows},
                "conditions": condition_table(dataset),
                "accuracy_png": accuracy_chart(name, dataset, plots / f"accuracy_{safe}.png"),
                "confusion_png": confusion_chart(name, dataset, plots / f"confusion_{safe}.png"),
                "mcnemar": mcnemar_rows(dataset),
                "panels": qualitative_panels(predictions, name, posts, data, examples),
                "notes": {
                    model: entry["both"]["note"]
                    for model, entry in dataset["results"].items()
                    if (entry.get("both") or {}).get("note")
                },
            }
        )
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    html = environment.get_template("report.html.j2").render(
        run_id=metrics.get("run_id") or run_dir.name,
        config=config,
        sections=sections,
        model_labels=MODEL_LABELS,
        condition_labels=[CONDITION_LABELS[c] for c in CONDITIONS],
        version=__version__,
    )
    target = run_dir / "report.html"
    partial = run_dir / f".report.html.{os.getpid()}.partial"
    partial.write_text(html, encoding="utf-8")
    partial.replace(target)  # readers never see half a page
    return target
