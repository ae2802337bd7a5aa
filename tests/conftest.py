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


# -- the offline sandbox (crawlers/sandbox) ------------------------------------------------
@pytest.fixture
def make_sandbox():
    """Factory: ``make_sandbox(world=None, **World.generate kwargs)`` -> a started
    SandboxServer (Reddit API + image hosts) on 127.0.0.1; all are stopped after the test.
    More routes (e.g. Flickr's) can be registered on it after it started."""
    from emofuse.crawlers.sandbox.server import SandboxServer
    from emofuse.crawlers.sandbox.world import World

    servers = []

    def start(world=None, **world_kwargs):
        world = world or World.generate(**world_kwargs)
        server = SandboxServer(world).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox(make_sandbox):
    """A started sandbox with a small default world (seed 0, 20 posts per subreddit of the
    paper's four, every post kind present). ``sandbox.world``, ``sandbox.url``,
    ``sandbox.host_map()``, ``sandbox.praw_settings()``, ``sandbox.inject(...)``."""
    return make_sandbox(seed=0, posts_per_subreddit=20)
