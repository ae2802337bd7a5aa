"""``emofuse sandbox serve``: run the offline sandbox and print how to point crawlers at it."""

from __future__ import annotations

import json
import shlex
import time
from typing import Annotated

import typer

from emofuse.errors import UserError
from emofuse.options import DataOption

sandbox_app = typer.Typer(no_args_is_help=True)


def settings_text(server, client_id: str, client_secret: str) -> str:
    """The shell exports that point `emofuse crawl reddit` at ``server``."""
    from emofuse.crawlers.sandbox.reddit_api import crawl_environment

    environment = crawl_environment(server, (client_id, client_secret))
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in environment.items())


def praw_ini_text(server, client_id: str, client_secret: str, site: str = "sandbox") -> str:
    return (
        f"[{site}]\nclient_id={client_id}\nclient_secret={client_secret}\n"
        f"user_agent=emofuse sandbox crawl\noauth_url={server.url}\nreddit_url={server.url}\n"
    )


@sandbox_app.command("serve")
def serve(
    data: DataOption = None,
    port: Annotated[int, typer.Option("--port", help="Port (0: a free one).")] = 0,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the generated Reddit and Flickr world.")
    ] = 0,
    posts: Annotated[
        int, typer.Option("--posts", help="Posts per subreddit in the generated world.")
    ] = 60,
    banned: Annotated[
        list[str] | None, typer.Option("--banned", help="Subreddit to serve as banned.")
    ] = None,
    private: Annotated[
        list[str] | None, typer.Option("--private", help="Subreddit to serve as private.")
    ] = None,
    latency: Annotated[
        float, typer.Option("--latency", help="Seconds of latency added to image requests.")
    ] = 0.0,
    rate_limit: Annotated[
        int,
        typer.Option("--rate-limit", help="Enforce N API requests per 10 s window (0: off)."),
    ] = 0,
    flickr_photos: Annotated[
        int, typer.Option("--flickr-photos", help="Flickr photos in the generated world.")
    ] = 40,
    duration: Annotated[
        float, typer.Option("--duration", help="Stop after this many seconds (0: until Ctrl-C).")
    ] = 0.0,
) -> None:
    """Serve a generated Reddit and Flickr world (APIs and image hosts) on 127.0.0.1."""
    from emofuse.crawlers.sandbox.reddit_api import SANDBOX_CREDENTIALS
    from emofuse.crawlers.sandbox.server import SandboxServer
    from emofuse.crawlers.sandbox.world import World
    from emofuse.log import console
    from emofuse.paths import data_dir

    if not 0 <= port <= 65535 or posts < 0 or latency < 0 or rate_limit < 0:
        raise UserError(
            "--port, --posts, --latency or --rate-limit is out of range",
            "use a port 0-65535 and non-negative numbers",
        )
    states = {name: "banned" for name in banned or []}
    states.update({name: "private" for name in private or []})
    world = World.generate(seed=seed, posts_per_subreddit=posts, states=states)
    from emofuse.crawlers.sandbox.flickr_world import add_flickr_photos

    add_flickr_photos(world, count=max(0, flickr_photos))
    try:
        server = SandboxServer(world, port=port)
    except OSError as error:
        raise UserError(
            f"cannot listen on 127.0.0.1:{port} ({error.strerror})",
            "pick another --port, or 0 for a free one",
        ) from error
    if latency:
        server.inject("host.*", "latency", seconds=latency)
    if rate_limit:
        server.enforce_rate_limit(limit=rate_limit, window_s=10.0)
    client_id, client_secret = next(iter(SANDBOX_CREDENTIALS.items()))
    folder = data_dir(data) / "sandbox"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "host-map.json").write_text(json.dumps(server.host_map(), indent=2))
    (folder / "praw.ini").write_text(praw_ini_text(server, client_id, client_secret))
    from emofuse.crawlers.sandbox.flickr_world import flickr_settings_text, write_label_file

    flickr_labels = write_label_file(world, folder / "flickr-labels.csv")
    with server:
        typer.echo(f"sandbox serving on {server.url}  ({len(world.posts)} posts, seed {seed})")
        typer.echo("# point `emofuse crawl reddit` at it (these are sandbox-only credentials):")
        typer.echo(settings_text(server, client_id, client_secret))
        typer.echo(
            f"# or: cp {folder / 'praw.ini'} ./praw.ini and pass --site sandbox "
            f"--host-map {folder / 'host-map.json'}"
        )
        typer.echo(flickr_settings_text(server.url, flickr_labels))
        try:
            started = time.monotonic()
            while not duration or time.monotonic() - started < duration:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        console.print(f"served {server.count()} requests")
