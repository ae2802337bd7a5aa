"""``emofuse crawl rehydrate --from RELEASE [--no-images]``: rebuild a published dataset."""

from pathlib import Path
from typing import Annotated

import typer

from emofuse.crawlers.cli import crawl_app
from emofuse.crawlers.options import (
    BackoffOption,
    CallsPerHourOption,
    FlickrConfigOption,
    HostMapOption,
    ImgurClientIdOption,
    RetriesOption,
    SiteOption,
    TimeoutOption,
    WorkersOption,
    load_host_map,
    retry_policy,
)
from emofuse.errors import UserError
from emofuse.options import DataOption


def parse_subreddit_map(values: list[str] | None) -> dict[str, str] | None:
    """``["pics=joy", ...]`` as ``{"pics": "joy"}`` added to the default four subreddits."""
    if not values:
        return None
    from emofuse.crawlers.reddit import parse_subreddits
    from emofuse.schema import REDDIT_DEFAULT_SUBREDDITS

    extra = parse_subreddits(values, {})
    # release files spell subreddits in any case
    return {**REDDIT_DEFAULT_SUBREDDITS, **{name.lower(): label for name, label in extra.items()}}


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
    workers: WorkersOption = 16,
    site: SiteOption = None,
    host_map: HostMapOption = None,
    imgur_client_id: ImgurClientIdOption = None,
    flickr_config: FlickrConfigOption = None,
    calls_per_hour: CallsPerHourOption = 3500.0,
    retries: RetriesOption = 4,
    backoff: BackoffOption = 0.5,
    timeout: TimeoutOption = 20.0,
    data: DataOption = None,
) -> None:
    """Rebuild a published dataset from its ids: import it, then fetch what is still online."""
    from emofuse.crawlers.rehydrate import OnlineOptions, rehydrate
    from emofuse.log import progress
    from emofuse.paths import data_dir

    if workers < 1 or calls_per_hour <= 0:
        raise UserError("--workers must be >= 1 and --calls-per-hour > 0", "fix the number")
    policy = retry_policy(retries, backoff, timeout)
    online = None
    if not no_images:
        from emofuse.crawlers.flickr import load_credentials
        from emofuse.crawlers.reddit_cli import build_reddit

        online = OnlineOptions(
            make_reddit=lambda: build_reddit(site, timeout),
            make_flickr_credentials=lambda: load_credentials(flickr_config),
            host_map=load_host_map(host_map),
            workers=workers,
            imgur_client_id=imgur_client_id,
            calls_per_hour=calls_per_hour,
            policy=policy,
        )
    with progress() as bars:
        summary = rehydrate(
            release,
            data_dir(data),
            images=not no_images,
            subreddits=parse_subreddit_map(subreddit),
            online=online,
            progress=None if no_images else bars,
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
    table.add_row("fetched (image stored)", str(summary.fetched))
    table.add_row("images downloaded in this run", str(summary.images_stored))
    for reason, count in sorted(summary.gone.items()):
        table.add_row(f"gone: {reason}", str(count))
    for reason, count in sorted(summary.failed.items()):
        table.add_row(f"failed: {reason}", str(count))
    for reason, count in sorted(summary.skipped.items()):
        table.add_row(f"skipped: {reason}", str(count))
    if summary.pending:
        table.add_row("still pending (rerun to finish)", str(summary.pending))
    console.print(table)
    for path in summary.stores:
        console.print(f"store: {path}", highlight=False)
    # one machine-readable line on stdout for scripts
    typer.echo(
        f"requested={summary.requested} imported={summary.imported} already={summary.already} "
        f"fetched={summary.fetched} gone={sum(summary.gone.values())} "
        f"failed={sum(summary.failed.values())} skipped={sum(summary.skipped.values())} "
        f"pending={summary.pending}"
    )
