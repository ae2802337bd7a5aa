"""The documentation site builds with ``mkdocs build --strict``: no broken link, no missing page."""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _nav_pages(nav: list) -> list[str]:
    pages: list[str] = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages.extend(_nav_pages(value) if isinstance(value, list) else [value])
    return pages


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert (site / "index.html").is_file()
    assert (site / "getting-started" / "index.html").is_file()


def test_every_page_is_in_the_nav() -> None:
    """A page in docs/ that the nav forgets is invisible on the site."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    in_nav = set(_nav_pages(config["nav"]))
    on_disk = {path.name for path in (ROOT / "docs").glob("*.md")}
    assert on_disk - in_nav == set(), f"pages missing from mkdocs.yml nav: {on_disk - in_nav}"
    assert in_nav - on_disk == set(), f"nav entries without a page: {in_nav - on_disk}"
