"""`emofuse crawl rehydrate` (scaffold: replaced by the real command)."""

from emofuse.crawlers.cli import crawl_app
from emofuse.errors import UserError


@crawl_app.command("rehydrate")
def rehydrate() -> None:
    """Not built yet."""
    raise UserError("emofuse crawl rehydrate is not built yet")
