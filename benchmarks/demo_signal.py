"""How much emotion signal the demo's generated posts carry, measured with the real models.

Generates Reddit-like and Flickr-like posts with ``crawlers/sandbox/content.py`` (the Flickr
text as the sandbox serves it: title plus HTML description, stripped), computes ``color_stats``
on the JPEG bytes the crawler would store, and trains the six models with
``emofuse.benchmark.train.Trainer`` on a random 80/10/10 split, for each seed, in the three
conditions. No crawl, so it isolates the data and the models from the pipeline.

It prints one Markdown table per dataset and trainer setting: the Trainer's defaults, and
``--patience``/``--max-epochs`` given (to see whether early stopping cuts the fusion models
short). Results and the command are in docs/demo-data.md.

    .venv/bin/python benchmarks/demo_signal.py --per-class 250 --seeds 3 --patience 10

``--curated DIR`` (a curated dataset folder, e.g. the demo's ``emofuse-data/curated/reddit``)
trains on that dataset's own splits and features instead of generated posts.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from pathlib import Path

import numpy as np


def generate(dataset: str, classes: list[str], per_class: int, seed: int):
    """Texts, color_stats vectors and label indices of ``per_class`` posts per class."""
    from PIL import Image

    from emofuse.benchmark.features import ColorStats, color_statistics
    from emofuse.crawlers.sandbox import content
    from emofuse.crawlers.sandbox.flickr_world import make_description, make_title
    from emofuse.schema import post_text

    rng = random.Random(seed)
    size = (160, 120) if dataset == "reddit" else (500, 375)
    texts, vectors, labels = [], [], []
    for label in classes * per_class:
        if dataset == "reddit":
            texts.append(content.make_text(label, rng))
        else:
            title = make_title(label, rng)
            texts.append(post_text(title, make_description(label, rng, title)))
        image = content.make_image(label, random.Random(rng.getrandbits(32)), size)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)  # what the crawler stores
        stored = Image.open(buffer).convert("RGB")
        stored.thumbnail((ColorStats.SIZE, ColorStats.SIZE))  # as the extractor sees it
        vectors.append(color_statistics(np.asarray(stored)))
        labels.append(classes.index(label))
    return texts, np.array(vectors, dtype=np.float32), np.array(labels)


def splits(texts, vectors, labels, classes, seed: int):
    """FusionData for a random 80/10/10 split; vocabulary from train only."""
    import torch

    from emofuse.benchmark.text import TextVectorizer
    from emofuse.benchmark.train import FusionData

    order = np.random.default_rng(seed).permutation(len(labels))
    tenth = len(order) // 10
    rows = {
        "test": order[:tenth],
        "validation": order[tenth : 2 * tenth],
        "train": order[2 * tenth :],
    }
    vectorizer = TextVectorizer().fit([texts[i] for i in rows["train"]])
    ids, _, has_text = vectorizer.transform(texts)
    out = {}
    for name, index in rows.items():
        r = torch.from_numpy(index)
        out[name] = FusionData(
            image=torch.from_numpy(vectors)[r],
            has_image=torch.ones(len(r), dtype=torch.bool),
            text=ids[r],
            has_text=has_text[r],
            labels=torch.from_numpy(labels)[r],
            post_ids=[str(i) for i in index],
            classes=classes,
            vocab_size=vectorizer.vocab_size,
        )
    return out


def curated_splits(folder: Path):
    """FusionData of a curated dataset's own splits, with color_stats features (cached)."""
    import json

    import pandas as pd

    from emofuse.benchmark.train import prepare_splits

    posts = pd.read_parquet(folder / "posts.parquet")
    classes = json.loads((folder / "dataset.json").read_text())["classes"]
    data_dir = folder.resolve().parents[1]  # <data>/curated/<name>
    prepared, _ = prepare_splits(posts, data_dir, "color_stats", classes=classes)
    return prepared


def evaluate(dataset: str, data, seeds: int, trainer_args: dict) -> list[str]:
    from emofuse.benchmark.run import CONDITIONS, MODEL_NAMES
    from emofuse.benchmark.train import Trainer

    truth = data["test"].labels.numpy()
    lines = ["| model | both | image only | text only |", "|---|---|---|---|"]
    for model in MODEL_NAMES:
        scores: dict[str, list[float]] = {c: [] for c in CONDITIONS}
        for seed in range(seeds):
            trainer = Trainer(model=model, dataset=dataset, seed=seed, device="cpu", **trainer_args)
            trainer.fit(data["train"], data["validation"])
            for condition in CONDITIONS:
                probs = trainer.predict_proba(data["test"], condition=condition)
                if not np.isnan(probs).all():
                    scores[condition].append(float((probs.argmax(1) == truth).mean()))
        cells = [
            f"{100 * np.mean(v):.1f} ± {100 * np.std(v):.1f}" if v else "n/a"
            for v in scores.values()
        ]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    from emofuse.schema import FLICKR_CLASSES, REDDIT_CLASSES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=250)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument(
        "--data-seeds", type=int, nargs="+", default=[0], help="generate a world for each seed"
    )
    parser.add_argument(
        "--no-defaults", action="store_true", help="skip the Trainer-defaults tables (faster)"
    )
    parser.add_argument("--curated", type=Path, help="a curated dataset folder to use instead")
    args = parser.parse_args()
    settings = {} if args.no_defaults else {"Trainer defaults": {}}
    settings |= {
        f"patience {args.patience}, max_epochs {args.max_epochs}": {
            "patience": args.patience,
            "max_epochs": args.max_epochs,
        },
    }
    if args.curated:
        jobs = [(args.curated.name, curated_splits(args.curated))]
    else:
        jobs = []
        for data_seed in args.data_seeds:
            for dataset, classes in (("reddit", REDDIT_CLASSES), ("flickr", FLICKR_CLASSES)):
                texts, vectors, labels = generate(dataset, classes, args.per_class, data_seed)
                prepared = splits(texts, vectors, labels, classes, data_seed)
                jobs.append((f"{dataset} (data seed {data_seed})", prepared))
    for name, data in jobs:
        dataset = name.split(" ")[0]
        started = time.perf_counter()
        total = sum(len(part) for part in data.values())
        print(f"\n## {name}: {total} posts, {len(data['test'])} test posts\n")
        for title, trainer_args in settings.items():
            print(f"{title}:\n")
            print("\n".join(evaluate(dataset, data, args.seeds, trainer_args)) + "\n")
        print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
