"""`emofuse crawl reddit` (scaffold: replaced by the real command)."""

from emofuse.crawlers.cli import crawl_app
from emofuse.errors import UserError


@crawl_app.command("reddit")
def reddit() -> None:
    """Not built yet."""
    raise UserError("emofuse crawl reddit is not built yet")
