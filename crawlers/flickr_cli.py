"""``emofuse crawl flickr --labels FILE``: Flickr photos with emotion labels -> raw/flickr/."""

from pathlib import Path
from typing import Annotated

import typer

from emofuse.crawlers.cli import crawl_app
from emofuse.crawlers.options import (
    BackoffOption,
    CallsPerHourOption,
    FlickrConfigOption,
    HostMapOption,
    RetriesOption,
    TimeoutOption,
    WorkersOption,
    load_host_map,
    retry_policy,
)
from emofuse.options import DataOption


@crawl_app.command("flickr")
def flickr_command(
    labels: Annotated[
        Path,
        typer.Option(
            "--labels",
            help="CSV/TSV of photo ids or Flickr URLs with label, agreeing and total votes, "
            "or an Emotion6 ground_truth.txt.",
            show_default=False,
        ),
    ],
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="Column of photo ids or URLs.")
    ] = None,
    label_column: Annotated[
        str | None, typer.Option("--label-column", help="Column of emotion labels.")
    ] = None,
    agree_column: Annotated[
        str | None, typer.Option("--agree-column", help="Column of agreeing votes.")
    ] = None,
    total_column: Annotated[
        str | None, typer.Option("--total-column", help="Column of total votes.")
    ] = None,
    classes: Annotated[
        str | None,
        typer.Option(
            "--classes",
            help="Comma-separated class names (default: the paper's 8 Flickr classes; "
            "Emotion6's 7 for its ground_truth.txt).",
        ),
    ] = None,
    workers: WorkersOption = 16,
    calls_per_hour: CallsPerHourOption = 3500.0,
    min_long_side: Annotated[
        int,
        typer.Option("--min-long-side", help="Smallest long side (px) of the stored image."),
    ] = 500,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Try photos that failed before again.")
    ] = False,
    flickr_config: FlickrConfigOption = None,
    host_map: HostMapOption = None,
    retries: RetriesOption = 4,
    backoff: BackoffOption = 0.5,
    timeout: TimeoutOption = 20.0,
    sandbox: Annotated[
        str | None,
        typer.Option(
            "--sandbox",
            help="Base URL of an `emofuse sandbox serve` server to crawl instead of Flickr.",
            show_default=False,
        ),
    ] = None,
    data: DataOption = None,
) -> None:
    """Fetch title, description and image of each labelled Flickr photo (flickrapi)."""
    from emofuse.crawlers.flickr import (
        FlickrCrawlOptions,
        crawl_flickr,
        load_credentials,
        sandbox_endpoints,
    )
    from emofuse.crawlers.labels import LabelColumns, read_labels
    from emofuse.errors import UserError
    from emofuse.log import console, progress
    from emofuse.paths import data_dir

    # every check before the first request and the first write
    if workers < 1:
        raise UserError(f"--workers must be at least 1, not {workers}", "e.g. --workers 16")
    if calls_per_hour <= 0:
        raise UserError(f"--calls-per-hour must be positive, not {calls_per_hour:g}", "e.g. 3500")
    if min_long_side < 1:
        raise UserError(f"--min-long-side must be positive, not {min_long_side}", "e.g. 500")
    policy = retry_policy(retries, backoff, timeout)
    class_list = [c.strip() for c in classes.split(",") if c.strip()] if classes else None
    columns = LabelColumns(id_column, label_column, agree_column, total_column)
    label_file = read_labels(labels, columns, class_list)
    credentials = load_credentials(flickr_config)
    if sandbox:
        rest_url, hosts = sandbox_endpoints(sandbox)
    else:
        hosts = load_host_map(host_map)
        api_base = hosts.get("api.flickr.com")
        rest_url = f"{api_base.rstrip('/')}/services/rest/" if api_base else None
    options = FlickrCrawlOptions(
        workers=workers,
        calls_per_hour=calls_per_hour,
        min_long_side=min_long_side,
        retry_failed=retry_failed,
        host_map=hosts,
        policy=policy,
    )
    console.print(
        f"{len(label_file.rows)} photos in {label_file.path.name} ({label_file.format}); "
        f"API paced at {calls_per_hour:g} calls/hour",
        highlight=False,
    )
    with progress() as bars:
        summary = crawl_flickr(
            label_file,
            data_dir(data),
            credentials,
            rest_url=rest_url,
            options=options,
            progress=bars,
        )
    print_summary(summary)


def print_summary(summary) -> None:
    """The closing table: requested, fetched, gone and failed by reason."""
    from rich.table import Table

    from emofuse.log import console

    table = Table(title="flickr crawl")
    table.add_column("photos")
    table.add_column("count", justify="right")
    table.add_row("requested", str(summary.requested))
    table.add_row("already stored before this run", str(summary.already))
    table.add_row("fetched (image stored)", str(summary.fetched))
    for label, count in sorted(summary.by_label.items()):
        table.add_row(f"  {label}", str(count))
    if summary.small:
        table.add_row("  of which smaller than the minimum size", str(summary.small))
    for reason, count in sorted(summary.gone.items()):
        table.add_row(f"gone: {reason}", str(count))
    for reason, count in sorted(summary.failed.items()):
        table.add_row(f"failed: {reason}", str(count))
    if summary.pending:
        table.add_row("still pending (rerun to finish)", str(summary.pending))
    table.add_row("API calls", str(summary.api_calls))
    table.add_row("images downloaded in this run", str(summary.images_stored))
    console.print(table)
    console.print(f"store: {summary.store}", highlight=False)
    typer.echo(
        f"requested={summary.requested} fetched={summary.fetched} "
        f"gone={sum(summary.gone.values())} failed={sum(summary.failed.values())} "
        f"pending={summary.pending}"
    )
