"""``emofuse benchmark ...`` (scaffold: replaced by the real commands)."""

import typer

from emofuse.errors import UserError

benchmark_app = typer.Typer(no_args_is_help=True)


@benchmark_app.command("run")
def run() -> None:
    """Not built yet."""
    raise UserError("emofuse benchmark run is not built yet")
