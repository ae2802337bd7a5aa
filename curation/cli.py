"""``emofuse curate``: crawl stores -> curated datasets with splits, a filter report and stats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emofuse.errors import UserError
from emofuse.options import DataOption, VerboseOption


def curate(
    data: DataOption = None,
    store: Annotated[
        list[Path] | None,
        typer.Option(
            "--store",
            metavar="<path>",
            help="A crawl store (crawl.sqlite or its folder) to curate; repeatable. "
            "Default: each crawl.sqlite under <data>/raw/, one dataset per store.",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Dataset name; merges all the stores into this one dataset."),
    ] = None,
    split: Annotated[
        bool,
        typer.Option(
            "--split/--no-split",
            help="Split per class by rank (test, validation, rest train); --no-split: all train.",
        ),
    ] = True,
    test_frac: Annotated[float, typer.Option(help="Share of each class for test.")] = 0.1,
    val_frac: Annotated[float, typer.Option(help="Share of each class for validation.")] = 0.1,
    language: Annotated[
        bool | None,
        typer.Option(
            "--language/--no-language",
            help="Force the English rule on/off for every source (default: on for flickr only).",
            show_default=False,
        ),
    ] = None,
    length: Annotated[
        bool | None,
        typer.Option(
            "--length/--no-length",
            help="Force the length rule on/off for every source (default: on for flickr only).",
            show_default=False,
        ),
    ] = None,
    agreement: Annotated[
        bool | None,
        typer.Option(
            "--agreement/--no-agreement",
            help="Force the agreement rule on/off (default: on; posts without votes pass).",
            show_default=False,
        ),
    ] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option(
            "--rule",
            metavar="<str>",
            help="SOURCE.RULE=on|off: one source's rule on or off, e.g. "
            "--rule reddit.language=on; repeatable.",
        ),
    ] = None,
    min_words: Annotated[
        int, typer.Option(help="Length rule: at least this many words (paper: more than 5).")
    ] = 6,
    min_agreement: Annotated[
        float | None,
        typer.Option(
            help="Agreement rule: share of agreeing votes needed (default: strict majority).",
            show_default=False,
        ),
    ] = None,
    near_distance: Annotated[
        int, typer.Option(help="Near-duplicate images: pHash Hamming distance in bits.")
    ] = 6,
    keep_text_only: Annotated[
        bool, typer.Option("--keep-text-only", help="Keep posts left without any image.")
    ] = False,
    classes: Annotated[
        str | None,
        typer.Option(help="Comma-separated classes to keep (others are removed and reported)."),
    ] = None,
    language_detector: Annotated[
        str, typer.Option(help="English detector: hybrid (vocabulary + langdetect) or langdetect.")
    ] = "hybrid",
    workers: Annotated[
        int, typer.Option(help="Processes for language detection (0: auto, see docs/curate.md).")
    ] = 0,
    verbose: VerboseOption = False,
) -> None:
    """Filter, de-duplicate and split crawl stores into <data>/curated/<name>/."""
    from emofuse.curation.curate import CurateOptions
    from emofuse.curation.curate import curate as run_curate
    from emofuse.log import console, setup_logging
    from emofuse.paths import data_dir

    setup_logging(verbose)
    overrides: dict[str, bool | None] = {
        "language": language,
        "length": length,
        "agreement": agreement,
    }
    overrides.update(parse_rules(rule or []))
    options = CurateOptions(
        test_frac=test_frac if split else 0.0,
        val_frac=val_frac if split else 0.0,
        rules=overrides,
        min_words=min_words,
        min_agreement=min_agreement,
        near_distance=near_distance,
        keep_text_only=keep_text_only,
        classes=[c.strip() for c in classes.split(",") if c.strip()] if classes else None,
        language_detector=language_detector,
        workers=workers,
    )
    root = data_dir(data)
    results = run_curate(root, store or None, name, options, show_progress=True)
    for result in results:
        console.print(report_table(result.report))
        console.print(stats_table(result.stats))
        console.print(f"wrote {result.folder}", highlight=False)


def parse_rules(values: list[str]) -> dict[str, bool]:
    """``["reddit.language=on"]`` -> ``{"reddit.language": True}``; UserError when malformed."""
    from emofuse.curation.filters import TOGGLED_RULES

    parsed = {}
    for value in values:
        key, _, state = value.partition("=")
        source, _, rule = key.partition(".")
        if not source or rule not in TOGGLED_RULES or state not in ("on", "off"):
            raise UserError(
                f"--rule {value!r} is not SOURCE.RULE=on|off",
                f"e.g. --rule flickr.length=off (rules: {', '.join(TOGGLED_RULES)})",
            )
        parsed[key] = state == "on"
    return parsed


def report_table(report: dict):
    """Posts per class: read, removed by each rule (first failed), kept."""
    from rich.table import Table

    classes = list(report["input"])
    table = Table(title=f"{report['dataset']}: posts removed per rule")
    table.add_column("rule")
    for name in classes + ["total"]:
        table.add_column(name, justify="right")

    def row(label: str, counts: dict, style: str | None = None) -> None:
        values = [counts.get(c, 0) for c in classes]
        table.add_row(label, *[str(v) for v in values], str(sum(values)), style=style)

    row("read", report["input"], "bold")
    for rule, counts in report["removed"].items():
        row(f"- {rule}", counts)
    row("kept", report["kept"], "bold green")
    return table


# narrow headers so that the table fits an 80-column terminal
SHORT_HEADERS = {"validation": "val", "images_per_post": "img/post", "words_per_text": "words/text"}


def stats_table(rows: list[dict]):
    from rich.table import Table

    from emofuse.curation.stats import STATS_COLUMNS

    table = Table(title=f"{rows[0]['dataset']}: statistics (paper Table 2)")
    for column in STATS_COLUMNS[1:]:
        header = SHORT_HEADERS.get(column, column)
        table.add_column(header, justify="left" if column == "emotion" else "right")
    for row in rows:
        table.add_row(*[str(row[c]) for c in STATS_COLUMNS[1:]])
    return table
