"""``emofuse benchmark run`` and ``emofuse benchmark report``.

Heavy imports (torch, pandas) stay inside the commands so that ``emofuse --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emofuse.errors import UserError
from emofuse.options import DataOption

benchmark_app = typer.Typer(no_args_is_help=True, help="Train and compare the fusion models.")


@benchmark_app.command("run")
def run(
    all_datasets: Annotated[
        bool, typer.Option("--all", help="Every curated dataset under <data>/curated.")
    ] = False,
    dataset: Annotated[
        list[str] | None,
        typer.Option("--dataset", help="A curated dataset by name (repeatable)."),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            help="Models, comma-separated or repeated: image, text, late_fusion, early_fusion, "
            "joint_fusion, common_space (default: all six).",
        ),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Training seeds per model.")] = 5,
    extractor: Annotated[
        str,
        typer.Option(
            "--extractor",
            help="Image features: color_stats, inception_v3, precomputed:PATH, or auto "
            "(inception_v3 when its weights are available, else color_stats).",
        ),
    ] = "auto",
    weights: Annotated[
        Path | None, typer.Option("--weights", help="InceptionV3 weights (.pth state dict).")
    ] = None,
    text_encoder: Annotated[
        str, typer.Option("--text-encoder", help="embedding (fastText-style) or minilm.")
    ] = "embedding",
    glove: Annotated[
        Path | None,
        typer.Option("--glove", help="GloVe .txt vectors to initialise the word embeddings."),
    ] = None,
    ngrams: Annotated[
        int,
        typer.Option("--ngrams", help="fastText word n-grams for --text-encoder embedding."),
    ] = 1,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    tune: Annotated[
        bool, typer.Option("--tune", help="Choose hyperparameters on validation (small grid).")
    ] = False,
    patience: Annotated[
        int | None,
        typer.Option(
            "--patience",
            help="Early stopping: epochs without a better validation accuracy (default: the "
            "Trainer's).",
        ),
    ] = None,
    max_epochs: Annotated[
        int | None,
        typer.Option("--max-epochs", help="Most epochs per model (default: the Trainer's)."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Training processes (0: one per core on the CPU for datasets of 1,000+ "
            "training posts, else 1).",
        ),
    ] = 0,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Bootstrap replicates for the 95% intervals.")
    ] = 1000,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Name of the run folder (default: UTC time).")
    ] = None,
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Skip report.html (tables are still written).")
    ] = False,
    data: DataOption = None,
) -> None:
    """Train and evaluate the models on curated datasets; write <data>/runs/<run-id>/."""
    from emofuse.benchmark.run import RunOptions, run_benchmark
    from emofuse.paths import data_dir

    if all_datasets and dataset:
        raise UserError("--all and --dataset exclude each other", "give one of them")
    if not all_datasets and not dataset:
        raise UserError("no dataset chosen", "pass --all or --dataset NAME")
    options = RunOptions(
        data_dir=data_dir(data),
        datasets=None if all_datasets else list(dataset or []),
        models=list(models or []),
        seeds=seeds,
        extractor=extractor,
        weights=weights,
        text_encoder=text_encoder,
        glove=glove,
        device=device,
        tune=tune,
        n_boot=bootstrap,
        run_id=run_id,
        build_report=not no_report,
        patience=patience,
        max_epochs=max_epochs,
        workers=workers,
        ngrams=ngrams,
    )
    run_benchmark(options)


@benchmark_app.command("report")
def report(
    run_dir: Annotated[
        Path,
        typer.Argument(help="A run folder, or a run id under <data>/runs.", show_default=False),
    ],
    data: DataOption = None,
) -> None:
    """Rebuild report.html of a benchmark run."""
    from emofuse.log import console
    from emofuse.paths import data_dir, runs_dir

    folder = run_dir if run_dir.is_dir() else runs_dir(data_dir(data)) / str(run_dir)
    if not (folder / "metrics.json").is_file():
        raise UserError(
            f"no benchmark run at {run_dir} (no metrics.json)",
            "give a folder written by `emofuse benchmark run` or its run id",
        )
    from emofuse.benchmark.report import build_report

    console.print(f"report: {build_report(folder)}")
