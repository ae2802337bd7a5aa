"""``emofuse release``: publish a curated dataset (Parquet, ImageFolder or ids only)."""

from pathlib import Path
from typing import Annotated

import typer

from emofuse.options import DataOption


def release(
    curated: Annotated[
        Path | None,
        typer.Option(help="Curated dataset folder (default: <data>/curated/<name>)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Release folder to write (default: <data>/release/<name>)."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="Dataset name: picks <data>/curated/<name> and <data>/release/<name> "
            "\\[default: the --curated folder's name, else reddit]",
            show_default=False,
        ),
    ] = None,
    format: Annotated[
        str,
        typer.Option("--format", help="parquet (image bytes in Parquet) or imagefolder."),
    ] = "parquet",
    ids_only: Annotated[
        bool,
        typer.Option("--ids-only", help="Ids, labels, ranks and splits only: no content."),
    ] = False,
    exclude: Annotated[
        Path | None,
        typer.Option(help="Removal list: one post id a line (reddit:<id>, flickr:<id> or bare)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an earlier release in a non-empty --out.")
    ] = False,
    license: Annotated[
        str,
        typer.Option(
            help="Licence id for the card, e.g. cc-by-4.0; 'other': the sources' own terms, "
            "written to LICENSE."
        ),
    ] = "other",
    data: DataOption = None,
) -> None:
    """Publish a curated dataset: loadable with `datasets.load_dataset(DIR)`, with a card,
    croissant.json and SHA256SUMS. Authors appear only as salted hashes."""
    from rich.table import Table

    from emofuse.curation.release import build_release
    from emofuse.errors import UserError
    from emofuse.log import console, progress
    from emofuse.paths import curated_dir, data_dir, release_dir

    if ids_only and format != "parquet":
        raise UserError("--ids-only and --format imagefolder exclude each other", "pick one")
    root = data_dir(data)
    if name is None:
        name = curated.resolve().name if curated is not None else "reddit"
    curated_path = curated if curated is not None else curated_dir(root, name)
    out_path = out if out is not None else release_dir(root, name)
    # build_release starts the bar once every check passed
    summary = build_release(
        curated_path,
        out_path,
        fmt=format,
        ids_only=ids_only,
        exclude=exclude,
        force=force,
        license_id=license,
        name=name,
        data=root if data is not None else None,
        progress=progress(),
    )

    table = Table(title=f"release {summary.name} ({summary.fmt})", min_width=40)
    table.add_column("split")
    table.add_column("posts", justify="right")
    for split, per_class in summary.counts.items():
        table.add_row(split, str(sum(per_class.values())))
    table.add_row("total", str(summary.posts), style="bold")
    console.print(table)
    console.print(f"wrote {summary.out}", highlight=False, soft_wrap=True)
    console.print(
        f"{summary.images} images, {len(summary.files)} data files, "
        f"{summary.total_bytes / 1e6:.1f} MB; excluded {summary.excluded} post(s)"
        + (
            f" ({summary.exclusions_not_found} listed id(s) not in the dataset)"
            if summary.exclusions_not_found
            else ""
        )
        + (
            f"; left out {summary.left_out_without_image} post(s) without an image"
            if summary.left_out_without_image
            else ""
        )
    )
