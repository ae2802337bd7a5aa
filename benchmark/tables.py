"""The paper's Tables 2, 4 and 5 from a run's metrics, as Markdown, CSV, LaTeX and JSON.

Input is the ``metrics.json`` structure of docs/contracts.md. Accuracy is printed in % as in
the paper, F-scores as fractions. A cell reads "n/a" where the model cannot score the dataset
in that condition (for example the image model on a text-only dataset); a number marked with
a dagger was computed on the posts the model could score, which are fewer than the test set
(the ``scored`` column says how many).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emofuse.benchmark.paper import PAPER_TABLE2, paper_dataset_for

MODEL_LABELS = {
    "image": "Image-based classifier",
    "text": "Text-based classifier",
    "late_fusion": "Late fusion",
    "early_fusion": "Early fusion",
    "joint_fusion": "Joint fusion",
    "common_space": "Common space fusion",
}
NOT_AVAILABLE = "n/a"
PARTIAL_MARK = "†"
NO_PAPER_NUMBER = "–"  # the paper has no such dataset or number
# Table 5 rows: (row label, model under image_only, model under text_only)
TABLE5_ROWS = [
    ("single-input classifier", "image", "text"),
    ("joint fusion", "joint_fusion", "joint_fusion"),
    ("common space fusion", "common_space", "common_space"),
]


def _metric(entry: dict[str, Any] | None, name: str, field: str = "mean") -> float | None:
    if not entry or not entry.get(name):
        return None
    return entry[name][field]


def _percent(value: float | None, digits: int = 2) -> str:
    return NOT_AVAILABLE if value is None else f"{100 * value:.{digits}f}"


def _fraction(value: float | None, digits: int = 3) -> str:
    return NOT_AVAILABLE if value is None else f"{value:.{digits}f}"


def _paper(value: float | None, percent: bool = False) -> str:
    """A paper number as printed there (no padding: 0.87 stays 0.87, 0.934 stays 0.934)."""
    if value is None:
        return NO_PAPER_NUMBER
    return f"{round(100 * value, 3):g}" if percent else f"{value:g}"


def _mean_std(entry: dict[str, Any] | None, name: str, percent: bool) -> str:
    mean, std = _metric(entry, name), _metric(entry, name, "std")
    if mean is None:
        return NOT_AVAILABLE
    text = f"{_percent(mean)} ± {_percent(std)}" if percent else f"{mean:.3f} ± {std:.3f}"
    return text + (PARTIAL_MARK if entry.get("n_unscored") else "")


def _interval(entry: dict[str, Any] | None, name: str, percent: bool) -> str:
    low, high = _metric(entry, name, "ci_low"), _metric(entry, name, "ci_high")
    if low is None:
        return NOT_AVAILABLE
    show = _percent if percent else _fraction
    return f"[{show(low)}, {show(high)}]"


def _scored(entry: dict[str, Any] | None, n_test: int) -> str:
    return f"{entry['n_scored'] if entry else 0}/{n_test}"


def _model_entries(dataset: dict[str, Any], condition: str) -> list[tuple[str, dict | None]]:
    return [(model, conditions.get(condition)) for model, conditions in dataset["results"].items()]


# ----------------------------------------------------------------------------- Table 4


def table4_records(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (dataset, model), all numbers (fractions) for CSV and JSON."""
    records = []
    for name, dataset in metrics["datasets"].items():
        paper = dataset.get("paper") or {}
        for model, entry in _model_entries(dataset, "both"):
            record: dict[str, Any] = {"dataset": name, "model": model}
            for metric in ("accuracy", "f1_macro", "f1_micro"):
                for field in ("mean", "std", "ci_low", "ci_high"):
                    record[f"{metric}_{field}"] = _metric(entry, metric, field)
            record["n_scored"] = entry["n_scored"] if entry else 0
            record["n_test"] = dataset["n_test"]
            record["note"] = (entry or {}).get("note", "")
            for metric in ("accuracy", "f1_macro", "f1_micro"):
                record[f"paper_{metric}"] = paper.get(model, {}).get(metric)
            records.append(record)
    return records


def table4_rows(metrics: dict[str, Any], dataset_name: str) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells of Table 4 for one dataset."""
    dataset = metrics["datasets"][dataset_name]
    paper = dataset.get("paper") or {}
    headers = [
        "Model",
        "Accuracy (%)",
        "95% CI (%)",
        "F-macro",
        "F-micro",
        "scored",
        "paper acc. (%)",
        "paper F-macro",
        "paper F-micro",
    ]
    rows = []
    for model, entry in _model_entries(dataset, "both"):
        theirs = paper.get(model, {})
        rows.append(
            [
                MODEL_LABELS.get(model, model),
                _mean_std(entry, "accuracy", percent=True),
                _interval(entry, "accuracy", percent=True),
                _mean_std(entry, "f1_macro", percent=False),
                _mean_std(entry, "f1_micro", percent=False),
                _scored(entry, dataset["n_test"]),
                _paper(theirs.get("accuracy"), percent=True),
                _paper(theirs.get("f1_macro")),
                _paper(theirs.get("f1_micro")),
            ]
        )
    return headers, rows


# ----------------------------------------------------------------------------- Table 5


def table5_records(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (dataset, Table 5 row, modality given), numbers as fractions."""
    records = []
    for name, dataset in metrics["datasets"].items():
        paper = dataset.get("paper_table5") or {}
        for label, image_model, text_model in TABLE5_ROWS:
            for condition, model in (("image_only", image_model), ("text_only", text_model)):
                entry = dataset["results"].get(model, {}).get(condition)
                records.append(
                    {
                        "dataset": name,
                        "row": label,
                        "model": model,
                        "condition": condition,
                        "accuracy_mean": _metric(entry, "accuracy"),
                        "accuracy_std": _metric(entry, "accuracy", "std"),
                        "accuracy_ci_low": _metric(entry, "accuracy", "ci_low"),
                        "accuracy_ci_high": _metric(entry, "accuracy", "ci_high"),
                        "n_scored": entry["n_scored"] if entry else 0,
                        "n_test": dataset["n_test"],
                        "paper_accuracy": paper.get(condition, {}).get(model),
                    }
                )
    return records


def table5_rows(metrics: dict[str, Any], dataset_name: str) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells of Table 5 for one dataset."""
    dataset = metrics["datasets"][dataset_name]
    paper = dataset.get("paper_table5") or {}
    headers = [
        "",
        "image only (%)",
        "95% CI",
        "scored",
        "text only (%)",
        "95% CI",
        "scored",
        "paper image",
        "paper text",
    ]
    rows = []
    for label, image_model, text_model in TABLE5_ROWS:
        image = dataset["results"].get(image_model, {}).get("image_only")
        text = dataset["results"].get(text_model, {}).get("text_only")
        rows.append(
            [
                label,
                _mean_std(image, "accuracy", percent=True),
                _interval(image, "accuracy", percent=True),
                _scored(image, dataset["n_test"]),
                _mean_std(text, "accuracy", percent=True),
                _interval(text, "accuracy", percent=True),
                _scored(text, dataset["n_test"]),
                _paper(paper.get("image_only", {}).get(image_model), percent=True),
                _paper(paper.get("text_only", {}).get(text_model), percent=True),
            ]
        )
    return headers, rows


# ----------------------------------------------------------------------------- formats


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table (no dependency: tabulate is not installed)."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    separator = "|" + "|".join(":---" if i == 0 else "---:" for i in range(len(headers))) + "|"
    return "\n".join([line(headers), separator, *(line(r) for r in rows)]) + "\n"


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_"}
_LATEX_ESCAPES.update({"$": r"\$", "{": r"\{", "}": r"\}", "±": r"$\pm$", "†": r"$^\dagger$"})


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(char, char) for char in str(text))


def latex_table(headers: list[str], rows: list[list[str]], caption: str, label: str) -> str:
    """A booktabs ``table`` environment."""
    spec = "l" + "r" * (len(headers) - 1)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{latex_escape(caption)}}}",
        rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(latex_escape(h) for h in headers) + r" \\",
        r"\midrule",
        *(" & ".join(latex_escape(c) for c in row) + r" \\" for row in rows),
        r"\bottomrule",
        r"\end{tabular}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


FOOTNOTE = (
    "n/a: the model cannot score this dataset in this condition (a modality is missing). "
    f"{PARTIAL_MARK}: computed on the posts the model could score (see `scored`). "
    "Mean ± std over seeds; 95% CI: percentile bootstrap over test posts. "
    f"Paper (Duong, Lebret, Aberer 2017; {NO_PAPER_NUMBER} where it has no such number): "
    "for reference only, on their data, splits and features."
)


def _write_formats(
    out_dir: Path,
    stem: str,
    title: str,
    metrics: dict[str, Any],
    rows_for: Any,
    records: list[dict[str, Any]],
) -> list[Path]:
    import pandas as pd

    markdown = [f"# {title}\n"]
    latex = []
    for name, dataset in metrics["datasets"].items():
        headers, rows = rows_for(metrics, name)
        caption = f"{title}: {name} (n_test = {dataset['n_test']})"
        markdown += [f"## {name} (n_test = {dataset['n_test']})\n", markdown_table(headers, rows)]
        latex.append(latex_table(headers, rows, caption, f"tab:{stem}-{name}"))
    markdown.append(FOOTNOTE + "\n")
    paths = [out_dir / f"{stem}.{ext}" for ext in ("md", "tex", "csv", "json")]
    paths[0].write_text("\n".join(markdown), encoding="utf-8")
    paths[1].write_text("\n".join(latex), encoding="utf-8")
    pd.DataFrame.from_records(records).to_csv(paths[2], index=False)
    paths[3].write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")
    return paths


def write_table4(metrics: dict[str, Any], out_dir: Path) -> list[Path]:
    """tables/table4.{md,tex,csv,json}: accuracy, F-macro, F-micro per model and dataset."""
    out_dir.mkdir(parents=True, exist_ok=True)
    title = "Table 4: performance of the fusion models and the two baselines"
    return _write_formats(out_dir, "table4", title, metrics, table4_rows, table4_records(metrics))


def write_table5(metrics: dict[str, Any], out_dir: Path) -> list[Path]:
    """tables/table5.{md,tex,csv,json}: accuracy when only the image or only the text is given."""
    out_dir.mkdir(parents=True, exist_ok=True)
    title = "Table 5: accuracy when only one modality is available"
    return _write_formats(out_dir, "table5", title, metrics, table5_rows, table5_records(metrics))


# ----------------------------------------------------------------------------- Table 2


def _counts_from_posts(curated: Path) -> list[dict[str, Any]]:
    """Posts per emotion and split, when the curated folder has no stats.csv."""
    import pandas as pd

    posts = pd.read_parquet(curated / "posts.parquet", columns=["label", "split"])
    table = posts.pivot_table(index="label", columns="split", aggfunc="size", fill_value=0)
    records = []
    for label, counts in table.iterrows():
        record = {"emotion": label, **{k: int(v) for k, v in counts.items()}}
        record["posts"] = int(counts.sum())
        records.append(record)
    return records


def write_table2(curated_dirs: dict[str, Path], out_dir: Path) -> list[Path]:
    """tables/table2.{md,csv}: the curated statistics of every dataset, the paper's beside.

    Copied from ``curated/<name>/stats.md`` and ``stats.csv`` (written by ``emofuse curate``);
    for a curated folder without them, posts per emotion and split counted from posts.parquet.
    """
    import pandas as pd

    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = ["# Table 2: statistics of the datasets\n"]
    frames = []
    for name, curated in curated_dirs.items():
        markdown.append(f"## {name}\n")
        if (curated / "stats.md").is_file():
            stats_md = (curated / "stats.md").read_text(encoding="utf-8").strip()
            markdown.append(_demote_headings(stats_md, levels=2) + "\n")
        else:
            records = _counts_from_posts(curated)
            headers = list(records[0]) if records else ["emotion", "posts"]
            rows = [[str(r.get(h, "")) for h in headers] for r in records]
            markdown.append(markdown_table(headers, rows))
        if (curated / "stats.csv").is_file():
            frame = pd.read_csv(curated / "stats.csv")
        else:
            frame = pd.DataFrame.from_records(_counts_from_posts(curated))
        if "dataset" not in frame.columns:  # curate's stats.csv already names it
            frame.insert(0, "dataset", name)
        frames.append(frame)
        paper_name = paper_dataset_for(name, _sources(curated))
        if paper_name:
            paper_rows = [[k, str(v)] for k, v in PAPER_TABLE2[paper_name].items()]
            markdown.append(f"The paper's {paper_name} dataset (Table 2), for reference:\n")
            markdown.append(markdown_table(["emotion", "#posts"], paper_rows))
    md_path, csv_path = out_dir / "table2.md", out_dir / "table2.csv"
    md_path.write_text("\n".join(markdown), encoding="utf-8")
    pd.concat(frames, ignore_index=True).to_csv(csv_path, index=False)
    return [md_path, csv_path]


def _demote_headings(markdown: str, levels: int) -> str:
    """Nest a copied page under our headings: ``# x`` becomes ``### x`` for levels=2."""
    return "\n".join(
        "#" * levels + line if line.startswith("#") else line for line in markdown.splitlines()
    )


def _sources(curated: Path) -> list[str] | None:
    manifest = curated / "dataset.json"
    if not manifest.is_file():
        return None
    try:
        return list(json.loads(manifest.read_text(encoding="utf-8")).get("sources") or [])
    except (json.JSONDecodeError, AttributeError):
        return None


def write_all_tables(
    metrics: dict[str, Any], curated_dirs: dict[str, Path], out_dir: Path
) -> list[Path]:
    """Tables 2, 4 and 5 of a run into ``out_dir`` (``runs/<run-id>/tables``)."""
    return [
        *write_table2(curated_dirs, out_dir),
        *write_table4(metrics, out_dir),
        *write_table5(metrics, out_dir),
    ]
