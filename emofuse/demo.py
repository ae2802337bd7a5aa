"""``emofuse demo``: the whole pipeline, offline, on the built-in sandbox.

One process does what a researcher would do by hand on the real internet:

1. generate a sandbox world (Reddit-like and Flickr-like posts whose texts and images carry
   emotion signal, see ``crawlers/sandbox/content.py``) and serve it on 127.0.0.1;
2. crawl Reddit through PRAW and Flickr through flickrapi against it, with the real crawl
   functions pointed at the sandbox's host map;
3. curate and split, 4. benchmark the six models on ``color_stats`` features,
5. write the report and 6. a release of each curated dataset.

Every stage goes through the same Python functions as its own command, so the demo proves
the commands work together. A stage that is not built yet is skipped with a note.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from emofuse.errors import UserError
from emofuse.log import console
from emofuse.options import DataOption, VerboseOption

# Written at the top of the data folder: marks it as made by the demo, so a rerun may replace
# it, while a folder holding anything else is refused.
DEMO_MARKER = "emofuse-demo.json"
DEMO_FOLDERS = ("raw", "curated", "features", "runs", "release", "sandbox")
SANDBOX_SEED = 7


@dataclass
class StageResult:
    name: str
    status: str  # done | skipped | failed
    note: str = ""
    seconds: float = 0.0


@dataclass
class DemoContext:
    """What the stages share: where to write, how big, and what earlier stages produced."""

    data: Path
    size: int
    seeds: int
    seed: int = SANDBOX_SEED
    world: Any = None
    server: Any = None
    flickr_labels: Path | None = None
    curated: list[Path] = field(default_factory=list)
    run_dir: Path | None = None
    report: Path | None = None
    releases: list[Path] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


class StageSkipped(Exception):
    """A stage whose code has not landed (or whose input is missing): noted, not fatal."""


def demo(
    data: DataOption = None,
    size: Annotated[
        int,
        typer.Option(
            "--size",
            min=20,
            max=2000,
            help="Posts generated per subreddit and per Flickr class. Bigger is slower and "
            "gives tighter intervals.",
        ),
    ] = 150,
    seeds: Annotated[
        int,
        typer.Option("--seeds", min=1, max=10, help="Training seeds per model (mean and std)."),
    ] = 3,
    verbose: VerboseOption = False,
) -> None:
    """Run the whole pipeline offline on the built-in sandbox and print where the report is.

    Generates Reddit-like and Flickr-like posts, serves them on 127.0.0.1, crawls them with
    PRAW and flickrapi, curates and splits them, benchmarks the six models, writes the report
    and a release. Takes a few minutes on two CPU cores.
    """
    from emofuse.log import setup_logging
    from emofuse.paths import data_dir

    setup_logging(verbose)
    folder = _prepare_data_folder(data_dir(data), explicit=data is not None)
    context = DemoContext(data=folder, size=size, seeds=seeds)
    results: list[StageResult] = []
    started = time.perf_counter()
    try:
        for name, stage in STAGES:
            results.append(_run_stage(name, stage, context))
    finally:
        if context.server is not None:
            context.server.stop()
    _print_summary(context, results, time.perf_counter() - started)


def _prepare_data_folder(folder: Path, explicit: bool) -> Path:
    """Check ``folder`` before writing anything: a new or empty folder, or an earlier demo's."""
    flag = "--data" if explicit else "--data (default ./emofuse-data)"
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{flag} {folder} is a file", "Pass a folder to --data")
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / DEMO_MARKER).exists():
            raise UserError(
                f"{flag} {folder} holds files the demo did not make",
                "Run the demo in an empty folder or pass another --data",
            )
        # An earlier demo's output: everything in it was generated, so start afresh.
        for name in DEMO_FOLDERS:
            shutil.rmtree(folder / name, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DEMO_MARKER).write_text(
        json.dumps({"made_by": "emofuse demo", "note": "a rerun of the demo replaces this"})
    )
    return folder


def _run_stage(name: str, stage: Callable[[DemoContext], str], context: DemoContext):
    console.rule(f"[bold]{name}")
    started = time.perf_counter()
    try:
        note = stage(context)
        status = "done"
    except StageSkipped as skipped:
        note, status = str(skipped), "skipped"
        console.print(f"[yellow]skipped:[/] {note}")
    return StageResult(name, status, note or "", time.perf_counter() - started)


# -- the stages -------------------------------------------------------------------------------


def _start_sandbox(context: DemoContext) -> str:
    raise StageSkipped("the sandbox (issue 2) is not wired into the demo yet")


def _crawl_reddit(context: DemoContext) -> str:
    raise StageSkipped("the Reddit crawler (issue 2) has not landed yet")


def _crawl_flickr(context: DemoContext) -> str:
    raise StageSkipped("the Flickr crawler (issue 3) has not landed yet")


def _curate(context: DemoContext) -> str:
    raise StageSkipped("curation (issue 4) has not landed yet")


def _benchmark(context: DemoContext) -> str:
    raise StageSkipped("the benchmark (issue 5) has not landed yet")


def _report(context: DemoContext) -> str:
    raise StageSkipped("the report (issue 6) has not landed yet")


def _release(context: DemoContext) -> str:
    raise StageSkipped("the release (issue 6) has not landed yet")


STAGES: list[tuple[str, Callable[[DemoContext], str]]] = [
    ("sandbox", _start_sandbox),
    ("crawl reddit", _crawl_reddit),
    ("crawl flickr", _crawl_flickr),
    ("curate", _curate),
    ("benchmark", _benchmark),
    ("report", _report),
    ("release", _release),
]


def _print_summary(context: DemoContext, results: list[StageResult], seconds: float) -> None:
    from rich.table import Table

    table = Table(title=f"emofuse demo: {seconds:.0f} s, data in {context.data}")
    table.add_column("stage")
    table.add_column("status")
    table.add_column("seconds", justify="right")
    table.add_column("what it did")
    colours = {"done": "green", "skipped": "yellow", "failed": "red"}
    for result in results:
        colour = colours[result.status]
        table.add_row(
            result.name, f"[{colour}]{result.status}[/]", f"{result.seconds:.1f}", result.note
        )
    console.print(table)
    if context.report is not None:
        # The last line, on stdout: the one thing a newcomer opens next.
        typer.echo(f"Report: {context.report}")
    else:
        typer.echo(f"Data: {context.data} (no report: see the skipped stages above)")
