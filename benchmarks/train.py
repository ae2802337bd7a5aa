"""Training speed: all six models x 5 seeds on cached features, against a naive per-sample loop.

    .venv/bin/python benchmarks/train.py            # Reddit-sized and Flickr-sized, 5 seeds

What it measures, on synthetic cached features (random vectors with a class signal, so early
stopping behaves as on real data; the numbers do not depend on the images):

- ``vectorised``: exactly what ``emofuse benchmark run`` does per dataset: for every model and
  seed, ``Trainer.fit`` (shuffled index batches on tensors, early stopping on validation)
  and ``predict_proba`` on the test split in the three conditions. Wall time of all of it.
- ``naive``: the same models and the same optimisation (Adam, batches of 128) written as a
  per-sample Python loop: one forward and one backward per post, gradients accumulated over
  the batch. Timed in the same run on ``--naive-posts`` training posts per model (seed 0);
  its time for the whole benchmark is extrapolated linearly to the training split and to the
  number of epochs the vectorised run trained, and printed as such (running it in full
  would take most of an hour on the 2-core machine).

Sizes follow the paper's Table 2: reddit 3,200 posts and 4 classes, flickr 9,300 posts and
8 classes; 2048-d image vectors (InceptionV3's width), titles of 5 to 30 words over a 20,000
word vocabulary, d = 200. Splits 80/10/10.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from emofuse.benchmark.train import FusionData, Trainer
from emofuse.models import MODELS

SIZES = {"reddit": (3200, 4), "flickr": (9300, 8)}
IMAGE_DIM = 2048
VOCAB = 20_000
CONDITIONS = ("both", "image_only", "text_only")


def synthetic_splits(n_posts: int, n_classes: int, seed: int = 0) -> dict[str, FusionData]:
    """Cached-feature splits: image vectors and word ids that carry the class, some noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n_posts)
    centres = rng.normal(0, 1, (n_classes, IMAGE_DIM)).astype(np.float32)
    image = 0.15 * centres[labels] + rng.normal(0, 1, (n_posts, IMAGE_DIM)).astype(np.float32)
    has_image = rng.random(n_posts) > 0.05  # a few posts without an image, as in real crawls
    image[~has_image] = 0
    lengths = rng.integers(5, 31, n_posts)
    ids = np.zeros((n_posts, 30), dtype=np.int64)
    class_words = rng.integers(1, VOCAB, (n_classes, 50))
    for row, (label, length) in enumerate(zip(labels, lengths, strict=True)):
        words = rng.integers(1, VOCAB, length)
        signal = rng.random(length) < 0.2  # one word in five comes from the class's list
        words[signal] = rng.choice(class_words[label], signal.sum())
        ids[row, :length] = words
    order = rng.permutation(n_posts)
    bounds = {"test": (0, n_posts // 10), "validation": (n_posts // 10, n_posts // 5)}
    bounds["train"] = (n_posts // 5, n_posts)
    classes = [f"class{i}" for i in range(n_classes)]
    splits = {}
    for split, (start, stop) in bounds.items():
        rows = torch.from_numpy(order[start:stop])
        splits[split] = FusionData(
            image=torch.from_numpy(image)[rows],
            has_image=torch.from_numpy(has_image)[rows],
            text=torch.from_numpy(ids)[rows],
            has_text=torch.ones(len(rows), dtype=torch.bool),
            labels=torch.from_numpy(labels)[rows],
            post_ids=[f"post{i}" for i in rows.tolist()],
            classes=classes,
            vocab_size=VOCAB,
        )
    return splits


def vectorised(
    dataset: str, splits: dict[str, FusionData], seeds: int
) -> tuple[float, float, dict]:
    """(wall, CPU) seconds for every model x seed (fit + predict in 3 conditions), and the
    epochs trained per model (all seeds)."""
    epochs: dict[str, int] = {}
    started, started_cpu = time.perf_counter(), time.process_time()
    for model in MODELS:
        for seed in range(seeds):
            trainer = Trainer(model=model, dataset=dataset, seed=seed, device="cpu")
            trainer.fit(splits["train"], splits["validation"])
            for condition in CONDITIONS:
                trainer.predict_proba(splits["test"], condition=condition)
            parts: dict[str, int] = {}
            for record in trainer.history_:
                parts[record["part"]] = record["epoch"]
            epochs[model] = epochs.get(model, 0) + sum(parts.values())
    return time.perf_counter() - started, time.process_time() - started_cpu, epochs


def _naive_steps(part, optimizer, train: FusionData, rows: torch.Tensor, batch_size: int) -> None:
    """One pass over ``rows``: a forward and a backward per post, a step per batch."""
    for start in range(0, len(rows), batch_size):
        optimizer.zero_grad()
        batch = rows[start : start + batch_size]
        for i in batch.tolist():
            used = int((train.text[i] != 0).sum())
            loss = part.loss(
                train.image[i : i + 1],
                train.text[i : i + 1, : max(used, 1)],
                train.labels[i : i + 1],
                train.has_image[i : i + 1],
                train.has_text[i : i + 1],
            )
            (loss / len(batch)).backward()
        optimizer.step()


def naive_epoch_seconds(
    dataset: str, splits: dict[str, FusionData], model: str, n_posts: int
) -> tuple[float, float]:
    """(wall, CPU) seconds per epoch of the per-sample loop, one post at a time.

    Warmed up on 64 posts (first calls allocate and dispatch lazily), then timed on the next
    ``n_posts`` training posts and scaled to the training split: the loop's cost is linear in
    the number of posts.
    """
    trainer = Trainer(model=model, dataset=dataset, seed=0, device="cpu")
    hp = trainer._resolved_hparams()
    train = splits["train"]
    module = trainer._build(train, hp)
    torch.manual_seed(0)
    optimizer = Trainer._optimizer(module, hp)  # the very optimiser the Trainer uses
    parts = [module.image_model, module.text_model] if model == "late_fusion" else [module]
    batch_size = int(hp["batch_size"])
    wall = cpu = 0.0
    for part in parts:
        part.train()
        rows = torch.nonzero(part.can_score(train.has_image, train.has_text)).squeeze(1)
        _naive_steps(part, optimizer, train, rows[:64], batch_size)
        timed = rows[64 : 64 + n_posts]
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        _naive_steps(part, optimizer, train, timed, batch_size)
        scale = len(rows) / len(timed)
        wall += (time.perf_counter() - started_wall) * scale
        cpu += (time.process_time() - started_cpu) * scale
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--naive-posts", type=int, default=512, help="training posts the naive loop is timed on"
    )
    parser.add_argument("--datasets", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the 2-core box)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"# benchmarks/train.py: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs visible, torch {torch.__version__}, {args.threads} threads, "
        f"{args.seeds} seeds, load average at start {os.getloadavg()[0]:.1f} "
        "(other processes share the cores)"
    )
    rows = []
    for dataset in args.datasets:
        n_posts, n_classes = SIZES[dataset]
        splits = synthetic_splits(n_posts, n_classes)
        wall, cpu, epochs = vectorised(dataset, splits, args.seeds)
        naive_wall = naive_cpu = 0.0
        for model in MODELS:
            per_epoch_wall, per_epoch_cpu = naive_epoch_seconds(
                dataset, splits, model, args.naive_posts
            )
            naive_wall += per_epoch_wall * epochs[model]  # the same epochs, post by post
            naive_cpu += per_epoch_cpu * epochs[model]
        rows.append(
            (dataset, n_posts, n_classes, sum(epochs.values()), wall, cpu, naive_wall, naive_cpu)
        )
        print(
            f"{dataset}: {n_posts} posts, {n_classes} classes, 6 models x {args.seeds} seeds, "
            f"{sum(epochs.values())} epochs: vectorised {wall:.1f} s wall ({cpu:.1f} s CPU); "
            f"naive per-sample loop {naive_wall:.0f} s wall ({naive_cpu:.0f} s CPU), "
            f"extrapolated from {args.naive_posts} timed posts per model to the same epochs",
            flush=True,
        )
    print()
    print(
        "| dataset | posts | classes | epochs trained | vectorised wall (CPU) s "
        "| naive loop wall (CPU) s, extrapolated | speed-up wall (CPU) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    totals = [0.0, 0.0, 0.0, 0.0]
    for dataset, n_posts, n_classes, epochs, wall, cpu, naive_wall, naive_cpu in rows:
        for i, value in enumerate((wall, cpu, naive_wall, naive_cpu)):
            totals[i] += value
        print(
            f"| {dataset} | {n_posts} | {n_classes} | {epochs} | {wall:.1f} ({cpu:.1f}) "
            f"| {naive_wall:.0f} ({naive_cpu:.0f}) "
            f"| {naive_wall / wall:.1f}x ({naive_cpu / cpu:.1f}x) |"
        )
    wall, cpu, naive_wall, naive_cpu = totals
    print(
        f"| **total** | | | | **{wall:.1f} ({cpu:.1f})** | **{naive_wall:.0f} ({naive_cpu:.0f})** "
        f"| **{naive_wall / wall:.1f}x ({naive_cpu / cpu:.1f}x)** |"
    )
    target = "meets" if wall <= 120 else "misses"
    print(f"\nvectorised total {wall:.1f} s wall: {target} the 120 s target")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
