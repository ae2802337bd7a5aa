"""Console output shared by every stage: rich console, progress bars, secret redaction."""

import logging
import os
import re

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)

# Environment variables whose values must never be printed.
SECRET_ENV_VARS = (
    "praw_client_secret",
    "praw_password",
    "praw_refresh_token",
    "praw_client_id",
    "FLICKR_API_KEY",
    "FLICKR_API_SECRET",
    "EMOFUSE_SALT",
)


def known_secrets() -> list[str]:
    values = []
    for name in SECRET_ENV_VARS:
        for variant in (name, name.upper(), name.lower()):
            value = os.environ.get(variant)
            if value and len(value) >= 4:
                values.append(value)
    return values


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Replace every known secret in ``text`` by ``***``."""
    for secret in (secrets or []) + known_secrets():
        if secret:
            text = text.replace(secret, "***")
    # bearer tokens and basic-auth headers, whatever their value
    return re.sub(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", r"\1 ***", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


def setup_logging(verbose: bool = False) -> None:
    handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
    handler.addFilter(RedactingFilter())
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[handler],
        force=True,
    )
    for noisy in ("urllib3", "prawcore", "praw", "flickrapi", "PIL", "matplotlib", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def progress() -> Progress:
    """The progress bar every long task uses."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
