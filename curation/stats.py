"""Dataset statistics: the paper's Table 2 (posts per emotion), plus splits, images per post
and words per text, written as ``stats.csv`` and ``stats.md``."""

from __future__ import annotations

from pathlib import Path

from emofuse.curation.filters import count_words

STATS_COLUMNS = [
    "dataset",
    "emotion",
    "posts",
    "train",
    "validation",
    "test",
    "images",
    "images_per_post",
    "words_per_text",
]


def dataset_stats(name: str, posts, classes: list[str]) -> list[dict]:
    """One row per class in ``classes`` order, then a ``Total`` row."""
    frame = posts.assign(_images=posts["images"].map(len), _words=posts["text"].map(count_words))
    rows = []
    for emotion, group in [(c, frame[frame["label"] == c]) for c in classes] + [("Total", frame)]:
        count = len(group)
        splits = group["split"].value_counts()
        rows.append(
            {
                "dataset": name,
                "emotion": emotion,
                "posts": count,
                "train": int(splits.get("train", 0)),
                "validation": int(splits.get("validation", 0)),
                "test": int(splits.get("test", 0)),
                "images": int(group["_images"].sum()),
                "images_per_post": round(float(group["_images"].mean()), 3) if count else 0.0,
                "words_per_text": round(float(group["_words"].mean()), 3) if count else 0.0,
            }
        )
    return rows


def write_stats(rows: list[dict], folder: Path) -> None:
    """``stats.csv`` and ``stats.md`` (a Markdown table) in ``folder``."""
    import csv

    with open(folder / "stats.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=STATS_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        f"# Statistics of {rows[0]['dataset']}" if rows else "# Statistics",
        "",
        "Posts per emotion (the paper's Table 2), per split, images per post, words per text.",
        "",
        "| " + " | ".join(STATS_COLUMNS[1:]) + " |",
        "|" + "---|" * (len(STATS_COLUMNS) - 1),
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(row[c]) for c in STATS_COLUMNS[1:]) + " |")
    (folder / "stats.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
