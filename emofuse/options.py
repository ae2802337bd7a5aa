"""Options shared by every command, so that they are spelled and documented once."""

from pathlib import Path
from typing import Annotated

import typer

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Data directory (default: $EMOFUSE_DATA or ./emofuse-data).",
        show_default=False,
    ),
]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Log debug details.")]
