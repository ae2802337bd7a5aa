"""``emofuse release`` (scaffold: replaced by the real command)."""

from emofuse.errors import UserError


def release() -> None:
    """Not built yet."""
    raise UserError("emofuse release is not built yet")
