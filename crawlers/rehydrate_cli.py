"""``emofuse crawl rehydrate --from RELEASE [--no-images]``: rebuild a published dataset."""

from pathlib import Path
from typing import Annotated

import typer

from emofuse.crawlers.cli import crawl_app
from emofuse.errors import UserError
from emofuse.options import DataOption


def parse_subreddit_map(values: list[str] | None) -> dict[str, str] | None:
    """``["pics=joy", ...]`` as ``{"pics": "joy"}`` added to the default four subreddits."""
    if not values:
        return None
    from emofuse.schema import REDDIT_DEFAULT_SUBREDDITS

    mapping = dict(REDDIT_DEFAULT_SUBREDDITS)
    for value in values:
        name, sep, emotion = value.partition("=")
        if not sep or not name.strip() or not emotion.strip():
            raise UserError(
                f"--subreddit {value!r} is not NAME=EMOTION", "e.g. --subreddit pics=joy"
            )
        mapping[name.strip().removeprefix("r/").lower()] = emotion.strip()
    return mapping


@crawl_app.command("rehydrate")
def rehydrate_command(
    release: Annotated[
        Path,
        typer.Option(
            "--from",
            help="The release: a folder of processed_*.csv (the paper's Reddit release) "
            "or a folder written by `emofuse release` (also --ids-only).",
            show_default=False,
        ),
    ],
    no_images: Annotated[
        bool,
        typer.Option(
            "--no-images",
            help="Import text and metadata only, without any request.",
        ),
    ] = False,
    subreddit: Annotated[
        list[str] | None,
        typer.Option(
            "--subreddit",
            help="NAME=EMOTION for a subreddit of the release outside the default four.",
        ),
    ] = None,
    data: DataOption = None,
) -> None:
    """Rebuild a published dataset from its ids: import it, then fetch what is still online."""
    from emofuse.crawlers.rehydrate import rehydrate
    from emofuse.paths import data_dir

    summary = rehydrate(
        release,
        data_dir(data),
        images=not no_images,
        subreddits=parse_subreddit_map(subreddit),
    )
    print_summary(summary)


def print_summary(summary) -> None:
    """The closing table: requested, imported, fetched, gone and failed by reason."""
    from rich.table import Table

    from emofuse.log import console

    table = Table(title=f"rehydrate {summary.release} ({summary.format} release)")
    table.add_column("what")
    table.add_column("posts", justify="right")
    table.add_row("requested", str(summary.requested))
    for label, count in sorted(summary.by_label.items()):
        table.add_row(f"  label {label}", str(count))
    table.add_row("imported (new)", str(summary.imported))
    table.add_row("already in store", str(summary.already))
    table.add_row("fetched online", str(summary.fetched))
    table.add_row("images stored", str(summary.images_stored))
    for reason, count in sorted(summary.gone.items()):
        table.add_row(f"gone: {reason}", str(count))
    for reason, count in sorted(summary.failed.items()):
        table.add_row(f"failed: {reason}", str(count))
    console.print(table)
    for path in summary.stores:
        console.print(f"store: {path}", highlight=False)
    # one machine-readable line on stdout for scripts
    typer.echo(
        f"requested={summary.requested} imported={summary.imported} already={summary.already} "
        f"fetched={summary.fetched} gone={sum(summary.gone.values())} "
        f"failed={sum(summary.failed.values())}"
    )
