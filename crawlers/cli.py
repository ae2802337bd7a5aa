"""``emofuse crawl ...``: the crawl commands of every source."""

import typer

crawl_app = typer.Typer(no_args_is_help=True)

# Each source registers its command here, in its own module.
from emofuse.crawlers import reddit_cli, flickr_cli, rehydrate_cli  # noqa: E402,F401,I001
