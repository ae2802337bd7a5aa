"""``emofuse sandbox serve`` (scaffold: replaced by the real command)."""

import typer

from emofuse.errors import UserError

sandbox_app = typer.Typer(no_args_is_help=True)


@sandbox_app.command("serve")
def serve() -> None:
    """Not built yet."""
    raise UserError("emofuse sandbox serve is not built yet")
