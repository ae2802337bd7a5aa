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
# Share of generated posts that survive the crawl and curation (measured on the demo world):
# Reddit loses a third below 100 upvotes, and its videos, self posts and links; Flickr loses
# its deleted, private and imageless photos. The world is sized so that --size is per class.
REDDIT_YIELD = 0.6
FLICKR_YIELD = 0.84
# Early stopping of the benchmark's training (see _benchmark).
DEMO_PATIENCE = 10
DEMO_MAX_EPOCHS = 60


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
            help="About how many curated posts per class (the sandbox generates more, as some "
            "fall to --min-upvotes, video or dead links). Bigger is slower, with tighter "
            "intervals.",
        ),
    ] = 500,
    seeds: Annotated[
        int,
        typer.Option("--seeds", min=1, max=10, help="Training seeds per model (mean and std)."),
    ] = 3,
    world_seed: Annotated[
        int,
        typer.Option(
            "--world-seed",
            help="Seed of the generated sandbox world: another seed, other posts of the same "
            "kind (to check that the tables' findings do not hang on one draw).",
        ),
    ] = SANDBOX_SEED,
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
    context = DemoContext(data=folder, size=size, seeds=seeds, seed=world_seed)
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

# A subreddit that Reddit has banned, listed in the crawl on purpose: the crawl must report it
# and go on with the others (r/gore itself was banned in 2019).
BANNED_SUBREDDIT = ("morbidreality", "disgust")
# Faults injected into the sandbox, so that the demo shows the crawlers surviving them.
DEMO_FAULTS = (
    ("host.i.redd.it", "status", {"status": 503, "times": 3}),
    ("reddit.listing", "ratelimit", {"times": 1, "retry_after": 1}),
    ("host.live.staticflickr.com", "status", {"status": 502, "times": 2}),
)


def _start_sandbox(context: DemoContext) -> str:
    """Generate the world (Reddit and Flickr posts) and serve it on 127.0.0.1."""
    from emofuse.crawlers.sandbox.flickr_api import register_flickr_routes
    from emofuse.crawlers.sandbox.flickr_world import add_flickr_photos, write_label_file
    from emofuse.crawlers.sandbox.hosts import register_host_routes
    from emofuse.crawlers.sandbox.reddit_api import register_reddit_routes
    from emofuse.crawlers.sandbox.server import SandboxServer
    from emofuse.crawlers.sandbox.world import World
    from emofuse.schema import FLICKR_CLASSES, REDDIT_DEFAULT_SUBREDDITS

    subreddits = {**REDDIT_DEFAULT_SUBREDDITS, BANNED_SUBREDDIT[0]: BANNED_SUBREDDIT[1]}
    world = World.generate(
        seed=context.seed,
        posts_per_subreddit=round(context.size / REDDIT_YIELD),
        subreddits=subreddits,
        states={BANNED_SUBREDDIT[0]: "banned"},
    )
    add_flickr_photos(world, count=round(context.size / FLICKR_YIELD) * len(FLICKR_CLASSES))
    server = SandboxServer(
        world, register=[register_reddit_routes, register_host_routes, register_flickr_routes]
    )
    for route, kind, params in DEMO_FAULTS:
        server.inject(route, kind, **params)
    context.world, context.server = world, server.start()
    sandbox_folder = context.data / "sandbox"
    sandbox_folder.mkdir(parents=True, exist_ok=True)
    context.flickr_labels = write_label_file(world, sandbox_folder / "flickr-labels.csv")
    reddit_posts = sum(len(ids) for ids in world.by_subreddit.values())
    return (
        f"{reddit_posts} Reddit posts in {len(subreddits)} subreddits (r/{BANNED_SUBREDDIT[0]} "
        f"banned), {len(world.flickr_photos)} Flickr photos, served on {server.url}"
    )


def _crawl_reddit(context: DemoContext) -> str:
    """``emofuse crawl reddit --min-upvotes 100`` through PRAW, against the sandbox."""
    import praw

    from emofuse.crawlers.reddit import RedditCrawler, RedditCrawlOptions
    from emofuse.crawlers.reddit_report import print_summary
    from emofuse.crawlers.sandbox.reddit_api import SANDBOX_CREDENTIALS
    from emofuse.log import progress
    from emofuse.schema import REDDIT_DEFAULT_SUBREDDITS

    server = _need_server(context)
    client_id, client_secret = next(iter(SANDBOX_CREDENTIALS.items()))
    # PRAW's documented settings point it at the sandbox; nothing is patched.
    reddit = praw.Reddit(
        client_id=client_id,
        client_secret=client_secret,
        user_agent="emofuse demo (sandbox)",
        check_for_updates=False,
        check_for_async=False,
        **server.praw_settings(),
    )
    options = RedditCrawlOptions(
        subreddits={**REDDIT_DEFAULT_SUBREDDITS, BANNED_SUBREDDIT[0]: BANNED_SUBREDDIT[1]},
        min_upvotes=100,
        host_map=server.host_map(),
        imgur_client_id="sandbox",
        workers=8,
    )
    with progress() as bars:
        report = RedditCrawler(reddit, context.data, options).run(progress=bars)
    print_summary(report, context.data)
    counts = _posts_by_status(context.data, "reddit")
    context.facts["reddit_crawled"] = counts.get("ok", 0)
    return f"{_status_note(counts)} (praw, --min-upvotes 100); {_faults_note(server, 'reddit')}"


def _crawl_flickr(context: DemoContext) -> str:
    """``emofuse crawl flickr --labels FILE`` through flickrapi, against the sandbox."""
    from emofuse.crawlers.flickr import (
        FlickrCrawlOptions,
        FlickrCredentials,
        crawl_flickr,
        sandbox_endpoints,
    )
    from emofuse.crawlers.flickr_cli import print_summary
    from emofuse.crawlers.labels import read_labels
    from emofuse.crawlers.sandbox.flickr_world import SANDBOX_FLICKR_KEY, SANDBOX_FLICKR_SECRET
    from emofuse.log import progress

    server = _need_server(context)
    labels = read_labels(context.flickr_labels)
    rest_url, host_map = sandbox_endpoints(server.url)
    credentials = FlickrCredentials(SANDBOX_FLICKR_KEY, SANDBOX_FLICKR_SECRET, "sandbox")
    # The real API allows 3,600 calls an hour; the sandbox has no such limit.
    options = FlickrCrawlOptions(workers=8, calls_per_hour=1e9, host_map=host_map)
    with progress() as bars:
        summary = crawl_flickr(
            labels, context.data, credentials, rest_url=rest_url, options=options, progress=bars
        )
    print_summary(summary)
    counts = _posts_by_status(context.data, "flickr")
    context.facts["flickr_crawled"] = counts.get("ok", 0)
    return f"{_status_note(counts)} (flickrapi); {_faults_note(server, 'flickr')}"


def _curate(context: DemoContext) -> str:
    """``emofuse curate --split``: one dataset per crawl store."""
    from emofuse.curation.cli import report_table, stats_table
    from emofuse.curation.curate import CurateOptions, curate

    results = curate(context.data, None, None, CurateOptions(), show_progress=True)
    notes = []
    for result in results:
        console.print(report_table(result.report))
        console.print(stats_table(result.stats))
        context.curated.append(result.folder)
        splits = result.posts["split"].value_counts()
        notes.append(
            f"{result.name}: {len(result.posts)} posts "
            f"({'/'.join(str(int(splits.get(s, 0))) for s in ('train', 'validation', 'test'))})"
        )
    return "; ".join(notes) + " train/validation/test"


def _benchmark(context: DemoContext) -> str:
    """``emofuse benchmark run --all --extractor color_stats --seeds N``."""
    from emofuse.benchmark.run import RunOptions, run_benchmark

    if not context.curated:
        raise StageSkipped("no curated dataset to benchmark")
    options = RunOptions(
        data_dir=context.data,
        seeds=context.seeds,
        extractor="color_stats",
        device="auto",
        n_boot=1000,
        run_id="demo",
        # The Trainer stops after 4 epochs without a better validation accuracy; on the demo's
        # data that stops joint fusion at epoch 3, before its text pathway learns anything
        # (text-only accuracy 42%, measured in docs/demo-data.md). 10 lets it.
        patience=DEMO_PATIENCE,
        max_epochs=DEMO_MAX_EPOCHS,
    )
    context.run_dir = run_benchmark(options)
    report = context.run_dir / "report.html"
    context.report = report if report.is_file() else None
    findings = _findings(json.loads((context.run_dir / "metrics.json").read_text()))
    return (
        f"6 models x {context.seeds} seed(s) x {len(context.curated)} datasets -> "
        f"{context.run_dir}\n" + "\n".join(findings)
    )


FUSION_MODELS = ("late_fusion", "early_fusion", "joint_fusion", "common_space")


def _findings(metrics: dict[str, Any]) -> list[str]:
    """What the run measured about the paper's two claims, per dataset: mean test accuracies
    and the paired McNemar tests' Holm-corrected p-values of the run (never asserted)."""

    def accuracy(results: dict, model: str, condition: str) -> float | None:
        entry = results.get(model, {}).get(condition, {}).get("accuracy")
        return None if entry is None else 100 * entry["mean"]

    def p_holm(tests: list[dict], first: str, second: str, condition: str) -> str:
        for test in tests:
            if test["condition"] == condition and {test["model_a"], test["model_b"]} == {
                first,
                second,
            }:
                p = test["p_holm"]
                return "p<0.001" if p < 0.001 else f"p={p:.3f}"
        return "p=n/a"

    lines = []
    for name, dataset in metrics["datasets"].items():
        results, tests = dataset["results"], dataset.get("mcnemar", [])
        single = {m: accuracy(results, m, "both") for m in ("image", "text")}
        fusion = {m: accuracy(results, m, "both") for m in FUSION_MODELS}
        missing = {
            (m, c): accuracy(results, m, c)
            for m in ("joint_fusion", "common_space")
            for c in ("image_only", "text_only")
        }
        if None in [*single.values(), *fusion.values(), *missing.values()]:
            continue
        best_single = max(single, key=lambda m: single[m])
        above = [m for m in FUSION_MODELS if fusion[m] > single[best_single]]
        fusion_cells = ", ".join(
            f"{m} {fusion[m]:.1f} ({p_holm(tests, m, best_single, 'both')})" for m in FUSION_MODELS
        )
        holds = [
            f"only the {c.removesuffix('_only')} {missing['common_space', c]:.1f} vs "
            f"{missing['joint_fusion', c]:.1f} ({p_holm(tests, 'common_space', 'joint_fusion', c)})"
            for c in ("image_only", "text_only")
        ]
        better = sum(
            missing["common_space", c] > missing["joint_fusion", c]
            for c in ("image_only", "text_only")
        )
        lines.append(
            f"{name}: {len(above)} of 4 fusion models above the best single model, "
            f"{best_single} {single[best_single]:.1f}: {fusion_cells}; common_space above "
            f"joint_fusion in {better} of 2 with a modality missing: " + ", ".join(holds)
        )
    return lines


def _report(context: DemoContext) -> str:
    """report.html, written by the benchmark run (``emofuse benchmark report RUN`` redoes it)."""
    if context.run_dir is None:
        raise StageSkipped("no benchmark run to report on")
    if context.report is None:
        from emofuse.benchmark.report import build_report

        context.report = build_report(context.run_dir)
    size_kb = context.report.stat().st_size / 1024
    return f"{context.report} ({size_kb:.0f} KB)"


def _release(context: DemoContext) -> str:
    """``emofuse release`` of each curated dataset (Parquet with image bytes, card, Croissant)."""
    from emofuse.curation.release import build_release
    from emofuse.log import progress
    from emofuse.paths import release_dir

    if not context.curated:
        raise StageSkipped("no curated dataset to release")
    notes = []
    with progress() as bars:
        for curated in context.curated:
            out = release_dir(context.data, curated.name)
            summary = build_release(curated, out, data=context.data, progress=bars)
            context.releases.append(out)
            notes.append(f"{curated.name}: {summary.posts} posts, {summary.images} images")
    return "; ".join(notes) + f" in {release_dir(context.data)}"


def _need_server(context: DemoContext) -> Any:
    if context.server is None:
        raise StageSkipped("the sandbox did not start")
    return context.server


def _posts_by_status(data: Path, source: str) -> dict[str, int]:
    """Posts of a crawl store per status (ok, skipped, gone, failed, pending)."""
    from emofuse.crawlers.store import CrawlStore
    from emofuse.paths import store_path

    store = CrawlStore(store_path(data, source), create=False)
    try:
        rows = store.conn.execute("SELECT status, COUNT(*) FROM posts GROUP BY status")
        return {status: count for status, count in rows}
    finally:
        store.close()


def _faults_note(server: Any, source: str) -> str:
    """How many injected faults the crawl met (and survived, since it went on)."""
    routes = (
        ("reddit.*", "host.i.redd.it") if source == "reddit" else ("host.live.staticflickr.com",)
    )
    errors = sum(
        server.count(route=route, status=status) for route in routes for status in (429, 502, 503)
    )
    return f"survived {errors} injected 429/5xx answers"


def _status_note(counts: dict[str, int]) -> str:
    order = ("ok", "skipped", "gone", "failed", "pending")
    return ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s))


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
