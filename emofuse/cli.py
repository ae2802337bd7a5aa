"""The ``emofuse`` command. Each stage owns its commands; this file only mounts them.

Stage modules keep heavy imports (torch, pandas, praw) inside their command functions so that
``emofuse --help`` stays fast.
"""

import sys
from typing import Annotated

import click
import typer
from rich.markup import escape
from typer.core import TyperGroup

from emofuse import __version__
from emofuse.errors import UserError
from emofuse.log import console, redact

# The order a newcomer meets the commands in: the pipeline, then the offline tools.
COMMAND_ORDER = ["crawl", "curate", "benchmark", "release", "demo", "sandbox"]


class _PipelineOrderGroup(TyperGroup):
    """Lists the commands in pipeline order (typer puts single commands before groups)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = super().list_commands(ctx)
        known = [name for name in COMMAND_ORDER if name in names]
        return known + [name for name in names if name not in known]


app = typer.Typer(
    name="emofuse",
    cls=_PipelineOrderGroup,
    help="Build multimodal (image + text) emotion datasets from Reddit and Flickr, "
    "and benchmark fusion models on them.",
    epilog="New here? `emofuse demo` runs the whole pipeline offline in a few minutes. "
    "Every command accepts --data DIR and -h/--help.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"emofuse {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """emofuse: crawl, curate, benchmark, release. Every command accepts --data DIR."""


def _mount() -> None:
    from emofuse.benchmark.cli import benchmark_app
    from emofuse.crawlers.cli import crawl_app
    from emofuse.crawlers.sandbox.cli import sandbox_app
    from emofuse.curation.cli import curate
    from emofuse.curation.release_cli import release
    from emofuse.demo import demo

    app.add_typer(crawl_app, name="crawl", help="Crawl Reddit or Flickr, or rehydrate a release.")
    app.command("curate")(curate)
    app.add_typer(benchmark_app, name="benchmark", help="Train and compare the fusion models.")
    app.command("release")(release)
    app.command("demo")(demo)
    app.add_typer(sandbox_app, name="sandbox", help="The offline Reddit/Flickr sandbox server.")


_mount()


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app, turns UserError into one line and exit code 2."""
    # Standalone mode: click/typer handle usage errors (exit 2, "Did you mean ...") and
    # --help/--version themselves; only our own UserError needs turning into one line.
    try:
        app(args=argv)
    except UserError as error:
        message = escape(redact(str(error)))  # "[flickr]", "[site]" are text, not markup
        console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        sys.exit(UserError.exit_code)


if __name__ == "__main__":
    main()
