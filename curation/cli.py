"""``emofuse curate`` (scaffold: replaced by the real command)."""

from emofuse.errors import UserError


def curate() -> None:
    """Not built yet."""
    raise UserError("emofuse curate is not built yet")
