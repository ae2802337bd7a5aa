"""Training speed: all six models x 5 seeds on cached features, against a naive per-sample loop.

    .venv/bin/python benchmarks/train.py            # Reddit-sized and Flickr-sized, 5 seeds

What it measures, on synthetic cached features (random vectors with a class signal, so early
stopping behaves as on real data; the numbers do not depend on the images):

- ``vectorised``: exactly what ``emofuse benchmark run`` does per dataset
  (``emofuse.benchmark.run.fit_models``): for every model and seed, ``Trainer.fit``
  (shuffled index batches on tensors, early stopping on validation) and ``predict_proba`` on
  the test split in the three conditions. Wall time of all of it, once in one process and
  once in one process per core (the run's default on the CPU for datasets of 1,000+
  training posts; the Trainer fits with one torch thread, so a second core is otherwise
  idle). Both train exactly the same epochs.
- ``naive``: the same models and the same optimisation (Adam, batches of 128) written as a
  per-sample Python loop: one forward and one backward per post, gradients accumulated over
  the batch. Timed in the same run on ``--naive-batches`` batches of 128 posts per model
  (after one untimed batch); the median batch time is extrapolated to an epoch and to the
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
from pathlib import Path

import numpy as np
import torch

from emofuse.benchmark.run import PreparedDataset, fit_models
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
    dataset: str, splits: dict[str, FusionData], seeds: int, workers: int
) -> tuple[float, float, dict]:
    """(wall, CPU of this process) seconds for every model x seed through the very function
    ``emofuse benchmark run`` uses (fit, then predict the test split in 3 conditions), and
    the epochs trained per model (all seeds)."""
    prepared = PreparedDataset(
        name=dataset,
        curated=Path("."),
        classes=splits["train"].classes,
        splits=splits,
        paper_name=None,
        meta=None,
    )
    started, started_cpu = time.perf_counter(), time.process_time()
    outcomes = fit_models(prepared, list(MODELS), seeds, "cpu", workers=workers)
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    epochs: dict[str, int] = {}
    for (model, _), outcome in outcomes.items():
        epochs[model] = epochs.get(model, 0) + outcome.epochs_trained
    return wall, cpu, epochs


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
    dataset: str, splits: dict[str, FusionData], model: str, repeats: int = 3
) -> tuple[float, float]:
    """(wall, CPU) seconds per epoch of the per-sample loop, one post at a time.

    One untimed batch first (first calls allocate and dispatch lazily; the first sparse
    step can take seconds), then ``repeats`` timed batches; the median batch time is scaled
    to the batches of an epoch. Medians, because one slow batch multiplied by an epoch's
    batches and the epochs of 5 seeds would swamp the estimate.
    """
    trainer = Trainer(model=model, dataset=dataset, seed=0, device="cpu")
    hp = trainer.resolved_hparams()
    train = splits["train"]
    # (the caller set torch's threads to the Trainer's num_threads: same conditions)
    module = trainer.build_module(train, hp)
    torch.manual_seed(0)
    optimizer = Trainer.make_optimizer(module, hp)  # the very optimiser the Trainer uses
    parts = [module.image_model, module.text_model] if model == "late_fusion" else [module]
    batch_size = int(hp["batch_size"])
    wall = cpu = 0.0
    for part in parts:
        part.train()
        rows = torch.nonzero(part.can_score(train.has_image, train.has_text)).squeeze(1)
        _naive_steps(part, optimizer, train, rows[:batch_size], batch_size)
        walls, cpus = [], []
        for r in range(1, repeats + 1):
            batch = rows[r * batch_size : (r + 1) * batch_size]
            started_wall, started_cpu = time.perf_counter(), time.process_time()
            _naive_steps(part, optimizer, train, batch, batch_size)
            walls.append(time.perf_counter() - started_wall)
            cpus.append(time.process_time() - started_cpu)
        batches = -(-len(rows) // batch_size)
        wall += float(np.median(walls)) * batches
        cpu += float(np.median(cpus)) * batches
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--naive-batches", type=int, default=3, help="timed batches of the naive loop per model"
    )
    parser.add_argument("--datasets", nargs="+", default=list(SIZES), choices=list(SIZES))
    args = parser.parse_args()
    # the naive loop runs with the torch threads the Trainer fits with (its num_threads)
    threads = Trainer().num_threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    print(
        f"# benchmarks/train.py: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs visible, torch {torch.__version__}, "
        f"{threads} torch thread(s) as the Trainer, "
        f"{args.seeds} seeds, load average at start {os.getloadavg()[0]:.1f} "
        "(other processes share the cores)"
    )
    workers = len(os.sched_getaffinity(0))  # what `benchmark run` uses here by default
    rows = []
    for dataset in args.datasets:
        n_posts, n_classes = SIZES[dataset]
        splits = synthetic_splits(n_posts, n_classes)
        one_wall, one_cpu, epochs = vectorised(dataset, splits, args.seeds, workers=1)
        many_wall, _, many_epochs = vectorised(dataset, splits, args.seeds, workers=workers)
        assert many_epochs == epochs, "the parallel run must train exactly the same epochs"
        naive_wall = 0.0
        for model in MODELS:
            per_epoch_wall, per_epoch_cpu = naive_epoch_seconds(
                dataset, splits, model, args.naive_batches
            )
            print(
                f"  naive {model}: {per_epoch_wall:.2f} s wall ({per_epoch_cpu:.2f} s CPU) "
                f"per epoch, x {epochs[model]} epochs",
                flush=True,
            )
            naive_wall += per_epoch_wall * epochs[model]  # the same epochs, post by post
        rows.append(
            (dataset, n_posts, n_classes, sum(epochs.values()), one_wall, many_wall, naive_wall)
        )
        print(
            f"{dataset}: {n_posts} posts, {n_classes} classes, 6 models x {args.seeds} seeds, "
            f"{sum(epochs.values())} epochs: vectorised {one_wall:.1f} s wall in 1 process "
            f"({one_cpu:.1f} s CPU), {many_wall:.1f} s in {workers} processes; naive "
            f"per-sample loop {naive_wall:.0f} s, extrapolated from the median of "
            f"{args.naive_batches} timed batches per model to the same epochs",
            flush=True,
        )
    print()
    print(
        f"| dataset | posts | classes | epochs trained | vectorised, 1 process (s) "
        f"| vectorised, {workers} processes (s) | naive loop (s, extrapolated) "
        f"| speed-up vs naive, 1 / {workers} processes |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    total_one = total_many = total_naive = 0.0
    for dataset, n_posts, n_classes, epochs, one, many, naive in rows:
        total_one, total_many, total_naive = total_one + one, total_many + many, total_naive + naive
        print(
            f"| {dataset} | {n_posts} | {n_classes} | {epochs} | {one:.1f} | {many:.1f} "
            f"| {naive:.0f} | {naive / one:.1f}x / {naive / many:.1f}x |"
        )
    print(
        f"| **total** | | | | **{total_one:.1f}** | **{total_many:.1f}** | **{total_naive:.0f}** "
        f"| **{total_naive / total_one:.1f}x / {total_naive / total_many:.1f}x** |"
    )
    target = "meets" if total_many <= 120 else "misses"
    print(
        f"\nbenchmark run's default ({workers} processes): {total_many:.1f} s wall, {target} "
        "the 120 s target"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
