"""Shared fixtures. ``shared_data`` is the ONE place tests reach ../shared/data."""

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only real data beside the project (../shared/data). Never copied into it."""
    assert SHARED_DATA.is_dir(), f"expected the shared data at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh emofuse data directory, also exported as EMOFUSE_DATA."""
    path = tmp_path / "emofuse-data"
    monkeypatch.setenv("EMOFUSE_DATA", str(path))
    return path
