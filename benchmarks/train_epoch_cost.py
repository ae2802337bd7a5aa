"""CPU seconds per training epoch, this tree's Trainer against an earlier commit's.

    .venv/bin/python benchmarks/train_epoch_cost.py                  # this tree
    .venv/bin/python benchmarks/train_epoch_cost.py --rev 553a3a2~1  # before the speed-ups

Each model trains exactly ``--epochs`` epochs (``patience`` above ``--epochs``, so early
stopping never cuts a run short) on ``benchmarks/train.py``'s synthetic Flickr-sized splits
(9,300 posts, 8 classes, 2048-d image vectors, 20,000 words), with one torch thread, as
``benchmark run`` fits. CPU time of the process, not wall time: the development machine is
shared, and CPU time does not count the waits for a busy core.

``--rev`` takes ``benchmark/train.py`` and the pooling function of ``models/fusion.py`` from
that commit (``git show``, nothing in the working tree changes) and trains with them; the
rest of the package is this tree's.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from train import synthetic_splits  # noqa: E402  (benchmarks/train.py, not a package)

MODELS = ("image", "text", "early_fusion", "joint_fusion", "common_space")


def trainer_at(rev: str | None):
    """The Trainer class of this tree, or of commit ``rev`` with that commit's word pooling."""
    if rev is None:
        from emofuse.benchmark.train import Trainer

        return Trainer
    import emofuse.models.fusion as fusion

    folder = Path(tempfile.mkdtemp(prefix="emofuse-rev-"))
    modules = {}
    for name, path in (("old_train", "benchmark/train.py"), ("old_fusion", "models/fusion.py")):
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:{path}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (folder / f"{name}.py").write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        modules[name] = importlib.util.module_from_spec(spec)
        sys.modules[name] = modules[name]  # dataclasses look their module up there
        spec.loader.exec_module(modules[name])
    # the text encoder looks segment_pool up in its module at call time
    fusion.segment_pool = modules["old_fusion"].segment_pool
    return modules["old_train"].Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="an earlier commit to measure instead of this tree")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    trainer_class = trainer_at(args.rev)
    splits = synthetic_splits(9300, 8)
    label = args.rev or "this tree"
    for model in MODELS:
        trainer = trainer_class(
            model=model,
            dataset="flickr",
            device="cpu",
            max_epochs=args.epochs,
            patience=args.epochs + 1,
        )
        started = time.process_time()
        trainer.fit(splits["train"], splits["validation"])
        per_epoch = (time.process_time() - started) / args.epochs
        print(f"{label}: {model} {per_epoch:.3f} CPU s per epoch", flush=True)


if __name__ == "__main__":
    main()
