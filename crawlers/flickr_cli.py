"""`emofuse crawl flickr` (scaffold: replaced by the real command)."""

from emofuse.crawlers.cli import crawl_app
from emofuse.errors import UserError


@crawl_app.command("flickr")
def flickr() -> None:
    """Not built yet."""
    raise UserError("emofuse crawl flickr is not built yet")
