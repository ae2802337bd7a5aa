"""Privacy helpers shared by every source: salted author hashes.

Raw usernames are never stored; ``author_hash`` keys them with a salt that is not published:
``$EMOFUSE_SALT`` if set, else a random salt generated once per data directory and kept in
``<data>/.salt`` (mode 600). The salt never goes into a store, a log or a release, so a
release's hashes cannot be reversed by hashing candidate usernames.
"""

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

SALT_FILE = ".salt"


def salt(data_dir: Path) -> bytes:
    """The salt: ``$EMOFUSE_SALT``, else ``<data>/.salt`` (created once, mode 600)."""
    from_env = os.environ.get("EMOFUSE_SALT")
    if from_env:
        return from_env.encode()
    return _file_salt(Path(data_dir).resolve())


@lru_cache(maxsize=8)
def _file_salt(data_dir: Path) -> bytes:
    path = data_dir / SALT_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(32)
        # O_EXCL: if two processes race, one creates it and the other reads the winner's salt
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(value)
    return path.read_text().strip().encode()


def author_hash(name: str | None, data_dir: Path) -> str | None:
    """HMAC-SHA256 of the author name under the salt, hex, 16 bytes. None for no author
    (deleted accounts are ``[deleted]`` on Reddit: they all hash to the same value)."""
    if not name:
        return None
    return hmac.new(salt(data_dir), name.encode(), hashlib.sha256).hexdigest()[:32]
