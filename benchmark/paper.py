"""The paper's published numbers (Duong, Lebret, Aberer 2017), shown beside ours for reference.

Transcribed from ``../shared/paper/000_484a801768e59555.txt``: Table 2 (posts per emotion),
Table 4 (accuracy in %, F-macro and F-micro as fractions there) and Table 5 (accuracy in %
with only the image or only the text). Here every number is a fraction in [0, 1], the unit
metrics.json uses; the tables print accuracy in % as the paper does.
"""

from __future__ import annotations

from typing import Any

PAPER_DATASETS = ("reddit", "flickr")

# Table 2: number of posts per emotion.
PAPER_TABLE2: dict[str, dict[str, int]] = {
    "reddit": {"joy": 1119, "fear": 697, "anger": 613, "disgust": 810},
    "flickr": {
        "amusement": 1259,
        "anger": 407,
        "awe": 1561,
        "contentment": 2389,
        "disgust": 852,
        "excitement": 1451,
        "fear": 434,
        "sadness": 984,
    },
}
PAPER_TABLE2_TOTALS = {"reddit": 3239, "flickr": 9337}  # as printed (the Flickr rows sum to 9337)


def _row(accuracy_percent: float, f1_macro: float, f1_micro: float) -> dict[str, float]:
    return {"accuracy": accuracy_percent / 100.0, "f1_macro": f1_macro, "f1_micro": f1_micro}


# Table 4: performance of the fusion models and the two baselines.
PAPER_TABLE4: dict[str, dict[str, dict[str, float]]] = {
    "reddit": {
        "image": _row(77.48, 0.77, 0.78),
        "text": _row(78.4, 0.77, 0.78),
        "late_fusion": _row(83.33, 0.82, 0.83),
        "early_fusion": _row(84.11, 0.81, 0.83),
        "joint_fusion": _row(86.29, 0.84, 0.86),
        "common_space": _row(86.92, 0.85, 0.87),
    },
    "flickr": {
        "image": _row(56.87, 0.67, 0.73),
        "text": _row(88.3, 0.85, 0.88),
        "late_fusion": _row(91.83, 0.87, 0.91),
        "early_fusion": _row(92.69, 0.89, 0.92),
        "joint_fusion": _row(93.01, 0.90, 0.93),
        "common_space": _row(93.44, 0.91, 0.934),
    },
}

# Table 5: accuracy given only one modality. The "single-input classifier" row is the image
# model under image_only and the text model under text_only.
PAPER_TABLE5: dict[str, dict[str, dict[str, float]]] = {
    "reddit": {
        "image_only": {"image": 0.7748, "joint_fusion": 0.3583, "common_space": 0.7103},
        "text_only": {"text": 0.784, "joint_fusion": 0.6947, "common_space": 0.7196},
    },
    "flickr": {
        "image_only": {"image": 0.56869, "joint_fusion": 0.2946, "common_space": 0.6903},
        "text_only": {"text": 0.883, "joint_fusion": 0.8581, "common_space": 0.8914},
    },
}


def source_names(sources: Any) -> list[str]:
    """Source names from dataset.json ``sources``: plain names, or entries like
    ``{"store": ..., "source": ["reddit"], "posts": ...}`` as ``emofuse curate`` writes them."""
    names: list[str] = []
    for entry in sources or []:
        value = entry.get("source") if isinstance(entry, dict) else entry
        for name in value if isinstance(value, list | tuple) else [value]:
            if isinstance(name, str) and name not in names:
                names.append(name)
    return names


def paper_dataset_for(name: str, sources: Any = None) -> str | None:
    """Which of the paper's datasets ours corresponds to, if any.

    By name first (``reddit``, ``reddit-text``, ``flickr_2024`` ...), then by the single source
    recorded in dataset.json. A dataset mixing sources has no paper counterpart.
    """
    lowered = name.lower()
    for paper_name in PAPER_DATASETS:
        if lowered == paper_name or lowered.startswith((paper_name + "-", paper_name + "_")):
            return paper_name
    names = source_names(sources)
    if len(names) == 1 and names[0] in PAPER_DATASETS:
        return names[0]
    return None


def paper_table4(dataset: str | None) -> dict[str, dict[str, float]]:
    """The paper's Table 4 rows for one of its datasets, ``{}`` for any other."""
    return {model: dict(row) for model, row in PAPER_TABLE4.get(dataset or "", {}).items()}


def paper_table5(dataset: str | None) -> dict[str, dict[str, float]]:
    """The paper's Table 5 for one of its datasets (condition -> model -> accuracy)."""
    return {c: dict(row) for c, row in PAPER_TABLE5.get(dataset or "", {}).items()}
