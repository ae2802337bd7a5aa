"""``emofuse benchmark run``: train and evaluate the six models on every curated dataset.

The protocol (docs/benchmark.md): for each dataset, model and seed, train on ``train`` with
model selection on ``validation`` only, then predict the ``test`` posts in three conditions
(``both`` modalities, ``image_only``, ``text_only``). A model that cannot score a post in a
condition leaves ``pred`` null; a model that cannot be trained on a dataset at all (the image
model on a text-only dataset) is recorded as such and shows "n/a" in the tables. Then the
statistics of ``emofuse.benchmark.stats`` and the tables of ``emofuse.benchmark.tables``.

Output, exactly per docs/contracts.md: ``<data>/runs/<run-id>/`` with ``config.json``,
``predictions.parquet``, ``metrics.json``, ``tables/``, and ``report.html`` with ``plots/``.
Everything is checked before the run folder is created; the folder is written
as ``runs/.<run-id>.partial`` and renamed when complete, so a crashed run never looks finished.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emofuse import __version__
from emofuse.benchmark.train import CONDITIONS, REQUIRED_COLUMNS
from emofuse.errors import UserError
from emofuse.log import console
from emofuse.paths import curated_dir, runs_dir

MODEL_NAMES = ("image", "text", "late_fusion", "early_fusion", "joint_fusion", "common_space")
TEXT_ENCODERS = ("embedding", "minilm")
BUILTIN_EXTRACTORS = ("color_stats", "inception_v3")
# Rough cost of one fit, timed once on Flickr-sized cached features (image 2.2 s, joint
# fusion 21.6 s): it only orders the jobs of a parallel run.
RELATIVE_FIT_COST = {
    "joint_fusion": 10,
    "early_fusion": 5,
    "common_space": 5,
    "late_fusion": 2,
    "text": 2,
    "image": 1,
}


@dataclass
class RunOptions:
    """Everything ``emofuse benchmark run`` needs; ``config.json`` is this, resolved."""

    data_dir: Path
    datasets: list[str] | None = None  # None: every curated dataset (--all)
    models: list[str] = field(default_factory=lambda: list(MODEL_NAMES))
    seeds: int = 5
    extractor: str = "color_stats"
    weights: Path | None = None
    text_encoder: str = "embedding"
    glove: Path | None = None
    device: str = "auto"
    tune: bool = False
    n_boot: int = 1000
    run_id: str | None = None
    build_report: bool = True
    workers: int = 0  # training processes; 0: automatic (see resolve_workers)
    ngrams: int = 1  # fastText word n-grams of the embedding text encoder (1: words only)
    # Early stopping (None: the Trainer's defaults). The joint models learn their text pathway
    # after the image one, so a short patience can stop them before it (docs/demo-data.md).
    patience: int | None = None
    max_epochs: int | None = None


@dataclass
class PreparedDataset:
    name: str
    curated: Path
    classes: list[str]
    splits: dict[str, Any]  # split name -> FusionData
    paper_name: str | None
    meta: Any  # emofuse.benchmark.train.PreparedMeta


# ----------------------------------------------------------------------------- checks


def available_datasets(data: Path) -> list[str]:
    """Names of the curated datasets under ``<data>/curated`` (those with a posts.parquet)."""
    base = curated_dir(data)
    if not base.is_dir():
        return []
    return sorted(p.parent.name for p in base.glob("*/posts.parquet"))


def parse_models(values: list[str] | None) -> list[str]:
    """``--models image,text --models joint_fusion`` -> a checked, de-duplicated list."""
    if not values:
        return list(MODEL_NAMES)
    names: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if not name:
                continue
            if name not in MODEL_NAMES:
                raise UserError(f"unknown model {name!r}", f"choose among {', '.join(MODEL_NAMES)}")
            if name not in names:
                names.append(name)
    if not names:
        raise UserError("--models names no model", f"choose among {', '.join(MODEL_NAMES)}")
    return names


def resolve_extractor(extractor: str, weights: Path | None) -> str:
    """``auto``: the paper's InceptionV3 when its weights are at hand, else ``color_stats``."""
    if extractor != "auto":
        return extractor
    from emofuse.benchmark.features import inception_weights_path

    try:
        inception_weights_path(weights)
    except UserError:
        console.print(
            "[yellow]note:[/] InceptionV3 weights not found: using --extractor color_stats "
            "(see docs/credentials.md to provide the weights)"
        )
        return "color_stats"
    return "inception_v3"


def equivalent_command(options: RunOptions, datasets: list[str]) -> str:
    """The command line that repeats this run, every option spelled out."""
    args = ["emofuse", "benchmark", "run"]
    for name in datasets:
        args += ["--dataset", name]
    args += ["--models", ",".join(options.models), "--seeds", str(options.seeds)]
    args += ["--extractor", options.extractor]
    if options.weights:
        args += ["--weights", str(options.weights)]
    args += ["--text-encoder", options.text_encoder]
    if options.glove:
        args += ["--glove", str(options.glove)]
    if options.ngrams != 1:
        args += ["--ngrams", str(options.ngrams)]
    args += ["--device", options.device, "--bootstrap", str(options.n_boot)]
    if options.tune:
        args.append("--tune")
    if options.workers:
        args += ["--workers", str(options.workers)]
    if options.patience is not None:
        args += ["--patience", str(options.patience)]
    if options.max_epochs is not None:
        args += ["--max-epochs", str(options.max_epochs)]
    args += ["--data", str(options.data_dir)]
    return shlex.join(args)


def check_options(options: RunOptions) -> list[str]:
    """Every check that needs no training; returns the datasets to run. Writes nothing."""
    if options.seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {options.seeds}", "use --seeds 5")
    if options.workers < 0:
        raise UserError(f"--workers must be 0 (automatic) or more, got {options.workers}")
    for name, value in (("--patience", options.patience), ("--max-epochs", options.max_epochs)):
        if value is not None and value < 1:
            raise UserError(f"{name} must be at least 1, got {value}", f"use {name} 10")
    if options.n_boot < 100:
        raise UserError("the bootstrap needs at least 100 replicates", "use --bootstrap 1000")
    options.models = parse_models(options.models)
    names = _chosen_datasets(options)
    if options.text_encoder not in TEXT_ENCODERS:
        raise UserError(
            f"unknown text encoder {options.text_encoder!r}",
            f"use --text-encoder {' or '.join(TEXT_ENCODERS)}",
        )
    if options.glove is not None and not Path(options.glove).is_file():
        raise UserError(f"GloVe file not found: {options.glove}", "give a GloVe .txt file")
    if options.ngrams < 1:
        raise UserError(f"--ngrams must be at least 1, got {options.ngrams}", "use --ngrams 2")
    if options.ngrams > 1 and options.text_encoder != "embedding":
        raise UserError("--ngrams only applies to --text-encoder embedding", "drop --ngrams")
    if options.glove is not None and options.text_encoder != "embedding":
        raise UserError("--glove only applies to --text-encoder embedding", "drop --glove")
    if options.weights is not None and not Path(options.weights).is_file():
        raise UserError(f"weights file not found: {options.weights}", "give a .pth state dict")

    from emofuse.benchmark.device import resolve_device

    options.device = resolve_device(options.device)
    _check_extractor(options.extractor, options.weights)
    options.extractor = resolve_extractor(options.extractor, options.weights)
    return names


def _chosen_datasets(options: RunOptions) -> list[str]:
    present = available_datasets(options.data_dir)
    if not present:
        raise UserError(
            f"no curated dataset under {curated_dir(options.data_dir)}",
            "run `emofuse curate --split` first (or pass --data DIR)",
        )
    if options.datasets is None:
        return present
    unknown = [name for name in options.datasets if name not in present]
    if unknown:
        raise UserError(
            f"no curated dataset named {', '.join(unknown)}",
            f"choose among {', '.join(present)} (or use --all)",
        )
    return list(dict.fromkeys(options.datasets))


def _check_extractor(extractor: str, weights: Path | None) -> None:
    if extractor.startswith("precomputed:"):
        path = Path(extractor.split(":", 1)[1])
        if not path.is_file():
            raise UserError(
                f"feature file not found: {path}",
                "give --extractor precomputed:FILE.parquet (or .npz, .npy) with vectors per "
                "post id or image sha256",
            )
    elif extractor == "inception_v3":
        from emofuse.benchmark.features import inception_weights_path

        inception_weights_path(weights)  # one clear line when the weights are missing
    elif extractor not in (*BUILTIN_EXTRACTORS, "auto"):
        raise UserError(
            f"unknown extractor {extractor!r}",
            f"use --extractor {', '.join(BUILTIN_EXTRACTORS)}, precomputed:PATH or auto",
        )


def load_curated(data: Path, name: str) -> tuple[Any, dict[str, Any]]:
    """posts.parquet and dataset.json of one curated dataset, checked."""
    import pandas as pd

    folder = curated_dir(data, name)
    try:
        posts = pd.read_parquet(folder / "posts.parquet")
    except Exception as error:  # pyarrow raises several types for a damaged file
        raise UserError(
            f"cannot read {folder / 'posts.parquet'}: {error}", "rerun `emofuse curate --split`"
        ) from error
    missing = [c for c in REQUIRED_COLUMNS if c not in posts.columns]
    if missing:
        raise UserError(
            f"{folder / 'posts.parquet'} lacks the column(s) {', '.join(missing)}",
            "rerun `emofuse curate --split`",
        )
    manifest: dict[str, Any] = {}
    if (folder / "dataset.json").is_file():
        manifest = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    for split in ("train", "validation", "test"):
        if not (posts["split"] == split).any():
            raise UserError(
                f"curated dataset {name!r} has no {split} posts",
                "rerun `emofuse curate --split` with more posts or other --test-frac/--val-frac",
            )
    return posts, manifest


def dataset_classes(posts: Any, manifest: dict[str, Any]) -> list[str]:
    """Class order: dataset.json's ``classes`` when given, else sorted labels."""
    classes = [c for c in manifest.get("classes") or [] if c in set(posts["label"])]
    extra = sorted(set(posts["label"]) - set(classes))
    return classes + extra


# ----------------------------------------------------------------------------- run


def _new_run_id(runs: Path, requested: str | None) -> str:
    if requested:
        if (runs / requested).exists():
            raise UserError(f"run {requested!r} exists already", "choose another --run-id")
        return requested
    base = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_id, n = base, 1
    while (runs / run_id).exists() or (runs / f".{run_id}.partial").exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def prepare_dataset(options: RunOptions, name: str) -> PreparedDataset:
    """Features and text for one dataset: may raise UserError (e.g. a feature file missing ids)."""
    from emofuse.benchmark.paper import paper_dataset_for
    from emofuse.benchmark.train import prepare_splits

    posts, manifest = load_curated(options.data_dir, name)
    classes = dataset_classes(posts, manifest)
    console.print(f"[bold]{name}[/]: {len(posts)} posts, preparing features and text")
    splits, meta = prepare_splits(
        posts,
        options.data_dir,
        extractor=options.extractor,
        text_encoder=options.text_encoder,
        glove=options.glove,
        classes=classes,
        weights=options.weights,
        device=options.device,
        ngrams=options.ngrams,
    )
    return PreparedDataset(
        name=name,
        curated=curated_dir(options.data_dir, name),
        classes=classes,
        splits=splits,
        paper_name=paper_dataset_for(name, manifest.get("sources")),
        meta=meta,
    )


@dataclass
class ModelOutcome:
    """One trained model (or the reason it could not be), with its test probabilities."""

    probabilities: dict[str, Any]  # condition -> [N_test, C], NaN rows where not scored
    note: str = ""
    hparams: dict[str, Any] = field(default_factory=dict)
    best_epoch: dict[str, int] = field(default_factory=dict)
    epochs_trained: int = 0  # over the model's parts (0 for late fusion derived from image + text)


def cannot_train_reason(model: str, train: Any) -> str:
    """Why ``model`` cannot learn from this training split ("" when it can)."""
    from emofuse.models import MODELS, ImageOnly, TextOnly

    parts = [ImageOnly, TextOnly] if model == "late_fusion" else [MODELS[model]]
    for part in parts:
        if not bool(part.can_score(train.has_image, train.has_text).any()):
            needs = "an image" if part.needs_image else "a text"
            if part.needs_image and part.needs_text:
                needs = "an image and a text"
            return f"cannot score: no training post has {needs}"
    return ""


def train_and_predict(
    model: str,
    dataset: PreparedDataset,
    seed: int,
    device: str,
    hparams: dict[str, Any] | None = None,
    patience: int | None = None,
    max_epochs: int | None = None,
) -> ModelOutcome:
    """Fit one model with one seed on train (selection on validation), predict the test posts."""
    import numpy as np

    from emofuse.benchmark.train import Trainer

    train, validation, test = (dataset.splits[s] for s in ("train", "validation", "test"))
    reason = cannot_train_reason(model, train)
    if reason:
        empty = np.full((len(test), len(dataset.classes)), np.nan)
        return ModelOutcome({c: empty for c in CONDITIONS}, note=reason)
    stopping = {"patience": patience, "max_epochs": max_epochs}
    trainer = Trainer(
        model=model,
        dataset=dataset.name,
        hparams=hparams,
        seed=seed,
        device=device,
        **{name: value for name, value in stopping.items() if value is not None},
    )
    trainer.fit(train, validation)
    last_epoch: dict[str, int] = {}
    for record in trainer.history_:
        last_epoch[record["part"]] = record["epoch"]
    return ModelOutcome(
        {c: trainer.predict_proba(test, condition=c) for c in CONDITIONS},
        hparams=dict(trainer.hparams_),
        best_epoch=dict(trainer.best_epoch_),
        epochs_trained=sum(last_epoch.values()),
    )


def resolve_workers(workers: int, device: str, dataset: PreparedDataset) -> int:
    """How many processes train in parallel: ``workers`` when given (>= 1); else, on the
    CPU, one per core for datasets of 1,000 training posts or more (the Trainer fits with one
    torch thread, so a second core is otherwise idle), and 1 below that, where starting a
    process costs more than it saves. A GPU run uses one process."""
    import os

    if workers >= 1:
        return workers
    if device != "cpu" or len(dataset.splits["train"]) < 1000:
        return 1
    return max(1, len(os.sched_getaffinity(0)))


def fit_models(
    dataset: PreparedDataset,
    models: list[str],
    seeds: int,
    device: str,
    tuned: dict[str, dict[str, Any]] | None = None,
    patience: int | None = None,
    max_epochs: int | None = None,
    workers: int = 1,
    on_done: Any = None,
) -> dict[tuple[str, int], ModelOutcome]:
    """Every (model, seed) of one dataset, in this process or in ``workers`` processes.

    Each fit depends only on its seed (the Trainer seeds torch and fits with one thread), so
    the outcomes are the same either way; the parallel path only uses more cores. Worker
    processes are spawned (never forked: torch's thread pools do not survive a fork) and get
    the dataset once, at start.
    """
    # Late fusion is the product of this seed's image and text classifiers (paper 5.3: "we
    # also reuse the text-based and image-based classifiers"), so it is derived, not refitted.
    derive_late = "late_fusion" in models and {"image", "text"} <= set(models)
    jobs = [
        (model, seed)
        for model in models
        if not (derive_late and model == "late_fusion")
        for seed in range(seeds)
    ]
    if workers > 1:
        # longest first, so that no process is left with a slow fit at the end
        jobs.sort(key=lambda job: -RELATIVE_FIT_COST.get(job[0], 1))
    tuned = tuned or {}

    def arguments(model: str) -> dict[str, Any]:
        return {
            "hparams": tuned.get(model) or None,
            "patience": patience,
            "max_epochs": max_epochs,
        }

    outcomes: dict[tuple[str, int], ModelOutcome] = {}
    if workers <= 1:
        for model, seed in jobs:
            outcomes[model, seed] = train_and_predict(
                model, dataset, seed, device, **arguments(model)
            )
            if on_done:
                on_done()
    else:
        outcomes.update(_fit_in_processes(dataset, jobs, device, arguments, workers, on_done))
    if derive_late:
        for seed in range(seeds):
            outcomes["late_fusion", seed] = late_fusion_outcome(
                outcomes["image", seed], outcomes["text", seed]
            )
            if on_done:
                on_done()
    return outcomes


def late_fusion_outcome(image: ModelOutcome, text: ModelOutcome) -> ModelOutcome:
    """Late fusion (eq. 2) from trained image and text outcomes: the normalised product of
    their probabilities; NaN (cannot score) wherever either of them cannot."""
    probabilities = {}
    for condition in CONDITIONS:
        product = image.probabilities[condition] * text.probabilities[condition]
        probabilities[condition] = product / product.sum(axis=1, keepdims=True)
    return ModelOutcome(
        probabilities,
        note=image.note or text.note,
        hparams={"image": image.hparams, "text": text.hparams},
        best_epoch={
            "image_model": image.best_epoch.get("model", 0),
            "text_model": text.best_epoch.get("model", 0),
        },
        epochs_trained=0,  # nothing trained beyond the image and text models
    )


def _fit_in_processes(
    dataset: PreparedDataset,
    jobs: list[tuple[str, int]],
    device: str,
    arguments: Any,
    workers: int,
    on_done: Any,
) -> dict[tuple[str, int], ModelOutcome]:
    """The fits of ``jobs`` in ``workers`` spawned processes, each given the dataset once."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    outcomes: dict[tuple[str, int], ModelOutcome] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=context,
        initializer=_worker_start,
        initargs=(dataset,),
    ) as pool:
        futures = {
            pool.submit(_worker_fit, model, seed, device, arguments(model)): (model, seed)
            for model, seed in jobs
        }
        for future in as_completed(futures):
            outcomes[futures[future]] = future.result()
            if on_done:
                on_done()
    return outcomes


_WORKER_DATASET: PreparedDataset | None = None


def _worker_start(dataset: PreparedDataset) -> None:
    global _WORKER_DATASET
    _WORKER_DATASET = dataset


def _worker_fit(model: str, seed: int, device: str, arguments: dict[str, Any]) -> ModelOutcome:
    assert _WORKER_DATASET is not None, "worker started without its dataset"
    return train_and_predict(model, _WORKER_DATASET, seed, device, **arguments)


def tune_model(
    model: str,
    dataset: PreparedDataset,
    device: str,
    patience: int | None = None,
    max_epochs: int | None = None,
) -> tuple[dict, list[dict]]:
    """--tune: the grid of emofuse.benchmark.train.TUNE_GRID on validation, seed 0."""
    from emofuse.benchmark.train import tune_grid

    if cannot_train_reason(model, dataset.splits["train"]):
        return {}, []
    stopping = {"patience": patience, "max_epochs": max_epochs}
    return tune_grid(
        model,
        dataset.name,
        dataset.splits["train"],
        dataset.splits["validation"],
        device=device,
        **{name: value for name, value in stopping.items() if value is not None},
    )


def run_benchmark(options: RunOptions) -> Path:
    """Run the whole benchmark; returns the run folder. See the module docstring."""
    names = check_options(options)
    prepared = [prepare_dataset(options, name) for name in names]  # may still refuse

    import pandas as pd

    from emofuse.benchmark.tables import write_all_tables
    from emofuse.log import progress

    runs = runs_dir(options.data_dir)
    runs.mkdir(parents=True, exist_ok=True)
    run_id = _new_run_id(runs, options.run_id)
    work = runs / f".{run_id}.partial"
    work.mkdir()
    config = _config(options, run_id, prepared)
    _write_json(work / "config.json", config)

    started = time.perf_counter()
    prediction_frames = []
    probabilities: dict[str, dict[str, list[dict[str, Any]]]] = {}
    notes: dict[str, dict[str, str]] = {}
    with progress() as bar:
        task = bar.add_task("training", total=len(prepared) * len(options.models) * options.seeds)
        for dataset in prepared:
            used = config["datasets"][dataset.name]["models"]
            tuned: dict[str, dict[str, Any]] = {}
            if options.tune:
                for model in options.models:
                    bar.update(task, description=f"{dataset.name}: tuning {model}")
                    tuned[model], grid = tune_model(
                        model, dataset, options.device, options.patience, options.max_epochs
                    )
                    used[model] = {"tuned": tuned[model], "grid": grid}
            workers = resolve_workers(options.workers, options.device, dataset)
            config["datasets"][dataset.name]["workers"] = workers
            bar.update(task, description=f"{dataset.name}: training ({workers} process(es))")
            outcomes = fit_models(
                dataset,
                options.models,
                options.seeds,
                options.device,
                tuned=tuned,
                patience=options.patience,
                max_epochs=options.max_epochs,
                workers=workers,
                on_done=lambda: bar.advance(task),
            )
            probabilities[dataset.name], notes[dataset.name] = {}, {}
            for model in options.models:
                per_seed = [outcomes[model, seed] for seed in range(options.seeds)]
                record = used.setdefault(model, {})
                record["best_epoch"] = [outcome.best_epoch for outcome in per_seed]
                record["epochs_trained"] = [outcome.epochs_trained for outcome in per_seed]
                record["hparams"] = per_seed[-1].hparams
                record["note"] = per_seed[-1].note
                probabilities[dataset.name][model] = [o.probabilities for o in per_seed]
                notes[dataset.name][model] = per_seed[-1].note
                prediction_frames.append(
                    _prediction_frame(dataset, model, probabilities[dataset.name][model])
                )
    config["train_seconds"] = round(time.perf_counter() - started, 1)

    metrics = build_metrics(run_id, prepared, probabilities, notes, options.n_boot)
    _write_json(work / "config.json", config)
    pd.concat(prediction_frames, ignore_index=True).to_parquet(
        work / "predictions.parquet", index=False
    )
    _write_json(work / "metrics.json", metrics)
    write_all_tables(metrics, {d.name: d.curated for d in prepared}, work / "tables")
    run_dir = runs / run_id
    work.rename(run_dir)
    if options.build_report:
        try:
            _build_report(run_dir)
        except Exception:
            # the results are complete and safe; only the page is missing
            console.print(
                f"[red]report.html failed[/]; the run is complete in {run_dir}: "
                f"retry with `emofuse benchmark report {run_dir}`"
            )
            raise
    print_summary(metrics, run_dir)
    return run_dir


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, default=_json_default) + "\n", encoding="utf-8")


def _json_default(value: Any) -> Any:
    """numpy scalars and tensors in hyperparameters (e.g. GloVe embeddings are left out)."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "shape"):
        return f"<array {tuple(value.shape)}>"
    return str(value)


def _config(options: RunOptions, run_id: str, prepared: list[PreparedDataset]) -> dict[str, Any]:
    config = asdict(options)
    for key in ("data_dir", "weights", "glove"):
        config[key] = None if config[key] is None else str(config[key])
    config.pop("build_report")
    config["run_id"] = run_id
    config["datasets"] = {
        d.name: {
            "curated": str(d.curated),
            "classes": d.classes,
            "paper_dataset": d.paper_name,
            "splits": d.meta.counts,
            "image_dim": d.meta.image_dim,
            "text_dim": d.meta.text_dim,
            "vocab_size": d.meta.vocab_size,
            "glove_words_found": d.meta.glove_found,
            "models": {},
        }
        for d in prepared
    }
    config["conditions"] = list(CONDITIONS)
    config["emofuse_version"] = __version__
    config["command_line"] = equivalent_command(options, [d.name for d in prepared])
    config["created_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    return config


def _prediction_frame(dataset: PreparedDataset, model: str, per_seed: list[dict[str, Any]]):
    """Rows (dataset, model, seed, condition, post_id, label, pred, probs) of one model."""
    import numpy as np
    import pandas as pd

    test = dataset.splits["test"]
    post_ids = list(test.post_ids)
    labels = [dataset.classes[i] for i in np.asarray(test.labels)]
    frames = []
    for seed, by_condition in enumerate(per_seed):
        for condition in CONDITIONS:
            probs = np.asarray(by_condition[condition], dtype=np.float64)
            scored = ~np.isnan(probs).any(axis=1)
            predicted = probs.argmax(axis=1) if len(probs) else np.array([], dtype=int)
            frames.append(
                pd.DataFrame(
                    {
                        "dataset": dataset.name,
                        "model": model,
                        "seed": seed,
                        "condition": condition,
                        "post_id": post_ids,
                        "label": labels,
                        "pred": [
                            dataset.classes[p] if ok else None
                            for p, ok in zip(np.nan_to_num(predicted), scored, strict=True)
                        ],
                        "probs": [
                            [float(v) for v in row] if ok else None
                            for row, ok in zip(probs, scored, strict=True)
                        ],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def build_metrics(
    run_id: str,
    prepared: list[PreparedDataset],
    probabilities: dict[str, dict[str, list[dict[str, Any]]]],
    notes: dict[str, dict[str, str]],
    n_boot: int = 1000,
) -> dict[str, Any]:
    """metrics.json (docs/contracts.md) from every seed's test probabilities."""
    import numpy as np

    from emofuse.benchmark import stats
    from emofuse.benchmark.paper import paper_table4, paper_table5

    datasets = {}
    for dataset in prepared:
        y = np.asarray(dataset.splits["test"].labels, dtype=np.int64)
        n_classes = len(dataset.classes)
        results: dict[str, Any] = {}
        predictions: dict[str, dict[str, np.ndarray]] = {c: {} for c in CONDITIONS}
        for model, per_seed in probabilities[dataset.name].items():
            results[model] = {}
            for condition in CONDITIONS:
                preds = np.stack(
                    [stats.probabilities_to_predictions(seed[condition]) for seed in per_seed]
                )
                predictions[condition][model] = preds
                summary = stats.summarize(y, preds, n_classes, n_boot=n_boot)
                if summary["per_class_f1"] is not None:
                    summary["per_class_f1"] = dict(
                        zip(dataset.classes, summary["per_class_f1"], strict=True)
                    )
                if notes[dataset.name].get(model):
                    summary["note"] = notes[dataset.name][model]
                results[model][condition] = summary
        tests = []
        for condition in CONDITIONS:
            scoring = {
                m: p for m, p in predictions[condition].items() if (p != stats.UNSCORED).any()
            }
            tests += [r.as_dict() for r in stats.mcnemar_all_pairs(y, scoring, condition)]
        datasets[dataset.name] = {
            "classes": dataset.classes,
            "n_test": int(len(y)),
            "paper_dataset": dataset.paper_name,
            "results": results,
            "mcnemar": tests,
            "paper": paper_table4(dataset.paper_name),
            "paper_table5": paper_table5(dataset.paper_name),
        }
    return {"run_id": run_id, "datasets": datasets}


def _build_report(run_dir: Path) -> Path:
    """report.html (emofuse.benchmark.report): tables, plots and example panels."""
    from emofuse.benchmark.report import build_report

    return build_report(run_dir)


def print_summary(metrics: dict[str, Any], run_dir: Path) -> None:
    """The rich table at the end of a run: accuracy per dataset, model and condition."""
    from rich.table import Table

    table = Table(title=f"benchmark run {metrics['run_id']}: test accuracy (%), mean ± std")
    for column in ("dataset", "model", *CONDITIONS, "scored"):
        table.add_column(column, justify="left" if column in ("dataset", "model") else "right")
    for name, dataset in metrics["datasets"].items():
        for model, conditions in dataset["results"].items():
            cells = []
            for condition in CONDITIONS:
                accuracy = conditions[condition]["accuracy"]
                cells.append(
                    "n/a"
                    if accuracy is None
                    else f"{100 * accuracy['mean']:.1f} ± {100 * accuracy['std']:.1f}"
                )
            scored = f"{conditions['both']['n_scored']}/{dataset['n_test']}"
            table.add_row(name, model, *cells, scored)
    console.print(table)
    console.print(f"run folder: {run_dir}")
