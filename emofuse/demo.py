"""``emofuse demo`` (scaffold: grows as the stages land)."""

from emofuse.errors import UserError


def demo() -> None:
    """Not built yet."""
    raise UserError("emofuse demo is not built yet")
