"""report.html: built from a real run folder, rendered and screenshotted in headless Chromium."""

import base64
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_release_support import make_drawn_curated, make_emotion6_curated, make_run

from emofuse.benchmark.report import build_report, pick_disagreements, pick_missing_modality
from emofuse.cli import main
from emofuse.errors import UserError

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is needed (apt-get install chromium; .ci/run installs it)"
    return path


def render(page: Path, tmp_path: Path) -> tuple[str, np.ndarray]:
    """The DOM after Chromium ran the page, and a 1280x2000 screenshot as an RGB array."""
    profile = tmp_path / "chromium-profile"
    url = page.resolve().as_uri()
    dom = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            url,
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return dom, np.asarray(Image.open(shot).convert("RGB"))


class Elements(HTMLParser):
    """Tables (by class) and images (src) of a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "table":
            self.tables.append(attributes.get("class") or "")
        if tag == "img":
            self.images.append(attributes.get("src") or "")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """One run folder shared by the tests that only read it and rebuild its report."""
    data_dir = tmp_path_factory.mktemp("report") / "data"
    # the reddit-like set has a text-only post among its test posts (the top-ranked joy post)
    reddit = make_drawn_curated(data_dir, name="reddit", per_class=30, text_only_rank=0)
    emotion6 = make_emotion6_curated(data_dir, shared_data, per_class=20)
    return make_run(data_dir, {"reddit": reddit, "emotion6": emotion6})


def test_report_renders_with_tables_plots_and_panels(run_dir: Path, tmp_path: Path):
    page = build_report(run_dir)
    assert page == run_dir / "report.html"
    html = page.read_text()
    metrics = json.loads((run_dir / "metrics.json").read_text())

    # self-contained: every image is inline, nothing is fetched from elsewhere
    assert not re.search(r'src="(?!data:)', html)
    assert "<link" not in html and "<script" not in html

    dom, pixels = render(page, tmp_path)
    elements = Elements()
    elements.feed(dom)
    for table in ("table2", "table4", "table5", "conditions", "mcnemar", "panel"):
        assert elements.tables.count(table) >= (2 if table != "panel" else 4), table
    plots = [src for src in elements.images if src.startswith("data:image/png;base64,")]
    thumbnails = [src for src in elements.images if src.startswith("data:image/jpeg;base64,")]
    assert len(plots) == 4  # a bar chart and a confusion grid per dataset
    assert len(thumbnails) >= 16
    for src in plots + thumbnails:
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image:
            image.load()
            assert image.width > 50
    assert sorted(p.name for p in (run_dir / "plots").iterdir()) == [
        "accuracy_emotion6.png",
        "accuracy_reddit.png",
        "confusion_emotion6.png",
        "confusion_reddit.png",
    ]

    # the numbers in the page are metrics.json's
    common = metrics["datasets"]["reddit"]["results"]["common_space"]
    assert f"{100 * common['both']['accuracy']['mean']:.2f} ± " in dom
    assert f"{100 * common['image_only']['accuracy']['mean']:.1f} ± " in dom
    for test in metrics["datasets"]["emotion6"]["mcnemar"][:3]:
        assert f"{test['p_holm']:.3g}" in dom
    assert "86.92" in dom  # the paper's common space accuracy on reddit, for reference
    assert "paper #posts" in dom and '<td class="num">1119</td>' in dom  # its Table 2 (joy)
    # the text-only test post is shown as classified from its text alone
    assert "reddit:jo0000" in dom and "text only</span>" in dom
    assert "ground truth" in dom and "common space – image only" in dom

    # the screenshot is a rendered page, not a blank one
    gray = pixels.mean(axis=2)
    assert pixels.shape[:2] == (2000, 1280)
    assert gray.std() > 25
    assert (gray < 200).mean() > 0.05
    assert len(np.unique(pixels.reshape(-1, 3)[::97], axis=0)) > 100  # plots and photos


def test_report_rebuild_is_stable_and_atomic(run_dir: Path):
    first = build_report(run_dir).read_text()
    second = build_report(run_dir).read_text()
    # the charts are redrawn; everything else (tables, panels chosen) is identical
    strip = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
    assert strip.sub("", first) == strip.sub("", second)
    assert not list(run_dir.glob(".report.html.*"))


def test_panels_pick_the_disagreements():
    truth = {"a": "joy", "b": "fear", "c": "joy", "d": "anger"}
    both = {
        # a: every model agrees -> never a Table 6 example
        "image": {"a": "joy", "b": "joy", "c": "fear", "d": "anger"},
        "text": {"a": "joy", "b": "anger", "c": "joy", "d": "fear"},
        # b: fusion right where both baselines are wrong; c: fusion wrong, text right
        "joint_fusion": {"a": "joy", "b": "fear", "c": "fear", "d": "anger"},
    }
    majority = {(model, "both"): preds for model, preds in both.items()}
    assert pick_disagreements(majority, truth, k=2) == ["b", "d"]
    assert pick_disagreements(majority, truth, k=5)[:3] == ["b", "d", "c"]
    assert "a" not in pick_disagreements(majority, truth, k=5)

    majority[("joint_fusion", "image_only")] = {"a": "joy", "b": "fear", "c": "fear", "d": "joy"}
    majority[("joint_fusion", "text_only")] = {"a": "joy", "b": "fear", "c": "joy", "d": "anger"}
    # d: wrong without its text, rescued by the text alone where the text model fails, so
    # first; b: right from the image alone where the image model fails; c: changes only;
    # a: nothing changes and everything agrees
    assert pick_missing_modality(majority, truth, k=4) == ["d", "b", "c"]


def test_report_of_a_folder_that_is_not_a_run(tmp_path: Path):
    with pytest.raises(UserError, match="metrics.json missing"):
        build_report(tmp_path)
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        build_report(tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_report_of_a_real_benchmark_run(data_dir: Path, shared_data: Path, tmp_path: Path):
    """`emofuse benchmark run` trains the six models and writes report.html through
    build_report; `emofuse benchmark report RUN` rebuilds it."""
    make_drawn_curated(data_dir, name="reddit", per_class=12, text_only_rank=0)
    make_emotion6_curated(data_dir, shared_data, per_class=10)
    args = ["benchmark", "run", "--all", "--seeds", "2", "--extractor", "color_stats"]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--bootstrap", "100", "--run-id", "real", "--data", str(data_dir)])
    assert exit_info.value.code in (0, None)
    run = data_dir / "runs" / "real"
    page = run / "report.html"
    assert page.is_file()
    first = page.stat().st_mtime_ns

    with pytest.raises(SystemExit) as exit_info:
        main(["benchmark", "report", "real", "--data", str(data_dir)])
    assert exit_info.value.code in (0, None)
    assert page.stat().st_mtime_ns > first

    metrics = json.loads((run / "metrics.json").read_text())
    dom, pixels = render(page, tmp_path)
    elements = Elements()
    elements.feed(dom)
    assert elements.tables.count("table4") == 2 and elements.tables.count("mcnemar") >= 1
    assert sum(src.startswith("data:image/png") for src in elements.images) == 4
    assert sum(src.startswith("data:image/jpeg") for src in elements.images) >= 1
    for name, dataset in metrics["datasets"].items():
        assert f'id="{name}"' in dom
        for model, entry in dataset["results"].items():
            accuracy = (entry["both"] or {}).get("accuracy")
            if accuracy:
                assert f"{100 * accuracy['mean']:.2f} ± " in dom, (name, model)
    assert pixels.mean(axis=2).std() > 25


def test_table7_shows_a_post_that_has_one_modality_only(run_dir: Path):
    """The reddit-like test split holds a text-only post (reddit:jo0000): Table 7 shows it,
    classified from its text alone (the image models: no prediction), tagged "text only"; a
    post whose image file is unreadable is tagged as such, not as text only."""
    import pandas as pd

    from emofuse.benchmark.report import curated_posts, qualitative_panels

    config = json.loads((run_dir / "config.json").read_text())
    predictions = pd.read_parquet(run_dir / "predictions.parquet")
    posts, data = curated_posts(run_dir, config, "reddit")
    panels = qualitative_panels(predictions, "reddit", posts, data, k=6)
    columns = panels["table7"]["columns"]
    ids = [column["post_id"] for column in columns]
    assert "reddit:jo0000" in ids
    at = ids.index("reddit:jo0000")
    assert columns[at]["n_images"] == 0 and columns[at]["thumbnail"] is None
    rows = {row["label"]: row["cells"][at] for row in panels["table7"]["rows"]}
    assert rows["image"]["state"] == "none"  # the image model cannot score it
    assert rows["common space – text only"]["state"] in ("right", "wrong")
    assert all(column["n_images"] >= 1 for i, column in enumerate(columns) if i != at)

    html = build_report(run_dir).read_text()
    table7 = html.split("Table 7:")[1].split("</table>")[0]
    assert "reddit:jo0000" in table7 and table7.count(">text only</span>") == 1
    # an image file that cannot be read: shown without thumbnail, but not called text only
    other = ids[1 - min(at, 1)]
    path = data / posts.loc[other, "images"][0]["path"]
    original = path.read_bytes()
    try:
        path.write_bytes(b"not a jpeg")
        html = build_report(run_dir).read_text()
    finally:
        path.write_bytes(original)
    table7 = html.split("Table 7:")[1].split("</table>")[0]
    assert table7.count(">text only</span>") == 1 and "image unreadable</span>" in table7
