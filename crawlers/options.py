"""Options shared by the crawl and sandbox commands, so each is spelled and documented once.

Help texts go through rich markup: a literal square bracket is written ``\\[``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emofuse.errors import UserError

if TYPE_CHECKING:
    from emofuse.crawlers.net import RetryPolicy

WorkersOption = Annotated[int, typer.Option("--workers", help="Concurrent image downloads.")]
SiteOption = Annotated[
    str | None,
    typer.Option(
        "--site",
        help="praw.ini site with the Reddit credentials (default: the environment's "
        "praw_client_id, praw_client_secret, praw_user_agent).",
        show_default=False,
    ),
]
HostMapOption = Annotated[
    str | None,
    typer.Option(
        "--host-map",
        envvar="EMOFUSE_HOST_MAP",
        help="JSON {hostname: base URL} (or a file holding it) to reach image hosts and APIs "
        "elsewhere, e.g. the sandbox's host-map.json (see `emofuse sandbox serve`).",
        show_default=False,
    ),
]
ImgurClientIdOption = Annotated[
    str | None,
    typer.Option(
        "--imgur-client-id",
        envvar="IMGUR_CLIENT_ID",
        help="imgur API client id, to fetch every image of an album (without: the first).",
        show_default=False,
    ),
]
FlickrConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--flickr-config",
        help="TOML file with \\[flickr] api_key and api_secret (default: FLICKR_API_KEY and "
        "FLICKR_API_SECRET in the environment, else ~/.config/emofuse/flickr.toml).",
        show_default=False,
    ),
]
CallsPerHourOption = Annotated[
    float,
    typer.Option("--calls-per-hour", help="Client-side Flickr API rate limit (Flickr: 3,600/h)."),
]
RetriesOption = Annotated[
    int, typer.Option("--retries", help="Attempts per request (5xx, timeouts, resets).")
]
BackoffOption = Annotated[
    float, typer.Option("--backoff", help="First backoff wait in seconds (doubles, jitter).")
]

TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        help="Seconds to wait for a server's answer (Reddit, Flickr, image hosts) before trying "
        "again.",
    ),
]


def retry_policy(retries: int, backoff: float, timeout: float = 20.0) -> RetryPolicy:
    """``--retries``/``--backoff``/``--timeout`` checked and turned into a RetryPolicy."""
    from emofuse.crawlers.net import RetryPolicy

    if retries < 1 or backoff < 0 or timeout <= 0:
        raise UserError(
            f"--retries {retries} / --backoff {backoff:g} / --timeout {timeout:g} is out of range",
            "use --retries 1 or more, --backoff 0 or more and a positive --timeout",
        )
    # connecting to a live host takes well under 5 s; the read may take the whole timeout
    return RetryPolicy(attempts=retries, base_s=backoff, timeout=(min(5.0, timeout), timeout))


def load_host_map(value: str | None) -> dict[str, str]:
    """``--host-map``: a JSON object ``{hostname: base URL}`` or a path to a JSON file."""
    if not value:
        return {}
    text = value
    if not value.lstrip().startswith("{"):
        path = Path(value).expanduser()
        if not path.is_file():
            raise UserError(
                f"--host-map {value!r} is neither a JSON object nor a file",
                "pass the JSON printed by `emofuse sandbox serve`, or a file holding it",
            )
        text = path.read_text()
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"--host-map is not valid JSON ({error.msg})", "fix the JSON") from error
    if not isinstance(mapping, dict) or not all(
        isinstance(v, str) and v.startswith(("http://", "https://")) for v in mapping.values()
    ):
        raise UserError(
            "--host-map must map hostnames to http(s) base URLs",
            'e.g. {"i.redd.it": "http://127.0.0.1:8000/_host/i.redd.it"}',
        )
    return mapping
