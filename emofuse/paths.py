"""Where every stage reads and writes: ``<data>`` and the folders under it (see DESIGN.md)."""

import os
from pathlib import Path

DEFAULT_DATA_DIR = "emofuse-data"


def data_dir(explicit: str | Path | None = None) -> Path:
    """``--data DIR`` if given, else ``$EMOFUSE_DATA``, else ``./emofuse-data``."""
    chosen = explicit or os.environ.get("EMOFUSE_DATA") or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().resolve()


def raw_dir(data: Path, source: str) -> Path:
    return data / "raw" / source


def store_path(data: Path, source: str) -> Path:
    return raw_dir(data, source) / "crawl.sqlite"


def images_dir(data: Path, source: str) -> Path:
    return raw_dir(data, source) / "images"


def curated_dir(data: Path, name: str | None = None) -> Path:
    base = data / "curated"
    return base / name if name else base


def features_dir(data: Path) -> Path:
    return data / "features"


def runs_dir(data: Path) -> Path:
    return data / "runs"


def release_dir(data: Path, name: str | None = None) -> Path:
    base = data / "release"
    return base / name if name else base
