"""``emofuse crawl reddit``: top image posts of emotion subreddits into ``<data>/raw/reddit``.

Heavy imports (praw) stay inside the command so that ``emofuse --help`` stays fast.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated, Any

import typer

from emofuse.crawlers.cli import crawl_app
from emofuse.crawlers.options import (
    BackoffOption,
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
from emofuse.options import DataOption, VerboseOption

TIME_FILTERS = ("all", "year", "month", "week", "day", "hour")
CREDENTIALS_FIX = (
    "set praw_client_id, praw_client_secret and praw_user_agent in the environment, "
    "or pass --site NAME of a praw.ini site that has them"
)


class Nsfw(StrEnum):
    keep = "keep"
    skip = "skip"


def build_reddit(site: str | None, timeout: float | None = None) -> Any:
    """A praw.Reddit from a praw.ini site or the environment, checked by fetching a token.

    ``praw_oauth_url`` / ``praw_reddit_url`` in the environment (or ``oauth_url`` /
    ``reddit_url`` in the praw.ini site) point PRAW elsewhere, e.g. at the sandbox.
    ``timeout``: seconds PRAW waits for an answer (default: PRAW's own).
    Raises UserError naming what to set; never shows a secret.
    """
    import configparser

    import praw
    import prawcore
    from praw.exceptions import MissingRequiredAttributeException

    settings: dict[str, Any] = {"check_for_updates": False, "check_for_async": False}
    for name in ("oauth_url", "reddit_url"):
        if os.environ.get(f"praw_{name}"):
            settings[name] = os.environ[f"praw_{name}"]
    if timeout:
        settings["timeout"] = max(1, round(timeout))  # PRAW takes whole seconds
    try:
        reddit = praw.Reddit(site_name=site or None, **settings)
    except configparser.NoSectionError as error:
        raise UserError(
            f"no praw.ini site named {site!r}",
            "add a [" + (site or "") + "] section to praw.ini (in the current directory or "
            "~/.config/praw.ini), or drop --site and use the environment",
        ) from error
    except MissingRequiredAttributeException as error:
        raise UserError("Reddit credentials are missing", CREDENTIALS_FIX) from error
    if not reddit.config.client_id or not reddit.config.user_agent:
        raise UserError("Reddit credentials are missing", CREDENTIALS_FIX)
    try:
        reddit.auth.scopes()  # fetches a token: rejected credentials fail here, not mid-crawl
    except (prawcore.exceptions.OAuthException, prawcore.exceptions.ResponseException) as error:
        status = getattr(getattr(error, "response", None), "status_code", "")
        raise UserError(
            f"Reddit rejected the credentials (HTTP {status})".replace(" (HTTP )", ""),
            "check praw_client_id / praw_client_secret (or the --site section)",
        ) from error
    except prawcore.exceptions.RequestException as error:
        raise UserError(
            f"cannot reach Reddit at {reddit.config.reddit_url}",
            "check the network (or praw_reddit_url / praw_oauth_url)",
        ) from error
    return reddit


@crawl_app.command("reddit")
def reddit(
    data: DataOption = None,
    subreddit: Annotated[
        list[str] | None,
        typer.Option(
            "--subreddit",
            help="NAME=EMOTION, repeatable (default: happy=joy creepy=fear rage=anger "
            "gore=disgust).",
            show_default=False,
        ),
    ] = None,
    time_filter: Annotated[
        str, typer.Option("--time-filter", help="Time filter of the top listing.")
    ] = "all",
    limit: Annotated[
        int, typer.Option("--limit", help="Posts per listing (Reddit stops near 1000).")
    ] = 1000,
    min_upvotes: Annotated[
        int, typer.Option("--min-upvotes", help="Keep posts with score >= N.")
    ] = 0,
    top_up: Annotated[
        int | None,
        typer.Option(
            "--top-up",
            help="For a class under N image posts, walk more listings (other time filters, "
            "new, hot, search) keeping posts with >= --min-upvotes.",
        ),
    ] = None,
    nsfw: Annotated[
        Nsfw, typer.Option("--nsfw", help="Keep or skip NSFW posts (r/gore is NSFW).")
    ] = Nsfw.keep,
    workers: WorkersOption = 16,
    site: SiteOption = None,
    host_map: HostMapOption = None,
    imgur_client_id: ImgurClientIdOption = None,
    retries: RetriesOption = 4,
    backoff: BackoffOption = 0.5,
    timeout: TimeoutOption = 20.0,
    verbose: VerboseOption = False,
) -> None:
    """Crawl the top image posts of emotion subreddits (PRAW) into <data>/raw/reddit."""
    from emofuse.crawlers.reddit import RedditCrawler, RedditCrawlOptions, parse_subreddits
    from emofuse.crawlers.reddit_report import print_summary
    from emofuse.log import console, progress, setup_logging
    from emofuse.paths import data_dir
    from emofuse.schema import REDDIT_DEFAULT_SUBREDDITS

    setup_logging(verbose)
    # every check before anything is written
    if time_filter not in TIME_FILTERS:
        raise UserError(
            f"--time-filter {time_filter!r} is not one of {', '.join(TIME_FILTERS)}",
            "use e.g. --time-filter all",
        )
    if not 1 <= limit <= 1000:
        raise UserError(f"--limit {limit} is out of range", "use 1 to 1000 (Reddit's maximum)")
    if min_upvotes < 0 or (top_up is not None and top_up < 1) or workers < 1:
        raise UserError("--min-upvotes must be >= 0, --top-up and --workers >= 1", "fix the number")
    mapping = parse_subreddits(subreddit, REDDIT_DEFAULT_SUBREDDITS)
    hosts = load_host_map(host_map)
    policy = retry_policy(retries, backoff, timeout)
    client = build_reddit(site, timeout)
    options = RedditCrawlOptions(
        subreddits=mapping,
        time_filter=time_filter,
        limit=limit,
        min_upvotes=min_upvotes,
        top_up=top_up,
        nsfw=nsfw.value,
        workers=workers,
        host_map=hosts,
        imgur_client_id=imgur_client_id,
        policy=policy,
    )
    folder = data_dir(data)
    crawler = RedditCrawler(client, folder, options)
    try:
        with progress() as bars:
            report = crawler.run(progress=bars)
    except KeyboardInterrupt:
        # everything finished so far is in the store: the same command continues from there
        console.print("interrupted: run the same command again to resume the crawl")
        raise typer.Exit(130) from None
    print_summary(report, folder)
