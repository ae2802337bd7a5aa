"""Crawl stores -> a curated dataset (``<data>/curated/<name>/``, see docs/contracts.md).

Everything is read and checked first (:func:`load_inputs`), then filtered, de-duplicated and
split in memory, and only then written, into a temporary folder renamed into place: bad input
raises :class:`UserError` with nothing written, and a rerun on the same inputs writes the same
bytes.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emofuse import __version__
from emofuse.curation.dedup import NEAR_DISTANCE, deduplicate
from emofuse.curation.filters import (
    RULE_ORDER,
    clean_text,
    count_words,
    passes_agreement,
    rules_for,
)
from emofuse.curation.language import DETECTORS, EnglishDetector
from emofuse.curation.split import assign_splits, check_no_leak
from emofuse.curation.stats import dataset_stats, write_stats
from emofuse.errors import UserError
from emofuse.paths import curated_dir
from emofuse.schema import (
    CURATED_COLUMNS,
    CURATED_SCHEMA_VERSION,
    FLICKR_CLASSES,
    REDDIT_CLASSES,
    post_text,
)

# Every emotion the project's sources use, in the order tables list them.
KNOWN_CLASSES = list(dict.fromkeys(REDDIT_CLASSES + FLICKR_CLASSES + ["surprise"]))
IMAGE_FIELDS = ("path", "sha256", "phash", "width", "height", "source_url")


@dataclass
class CurateOptions:
    """What ``emofuse curate`` may change. ``rules`` maps "language", "length", "agreement"
    (or "<source>.<rule>") to True/False to override the per-source defaults."""

    test_frac: float = 0.1
    val_frac: float = 0.1
    rules: dict[str, bool | None] = field(default_factory=dict)
    min_words: int = 6
    min_agreement: float | None = None  # None: strict majority
    near_distance: int = NEAR_DISTANCE
    keep_text_only: bool = False
    classes: list[str] | None = None
    language_detector: str = "hybrid"
    workers: int = 0
    language_cache: bool = True  # one decision per distinct text


@dataclass
class StoreInput:
    """One crawl store, read."""

    path: Path
    name: str  # the store's folder, e.g. "reddit"
    root: Path  # the data directory its image paths are relative to
    posts: Any  # DataFrame of the posts table
    images: Any  # DataFrame of the images table


@dataclass
class CurateResult:
    name: str
    folder: Path
    posts: Any  # the curated DataFrame
    report: dict
    stats: list[dict]


# -- inputs -----------------------------------------------------------------------------------
def find_stores(data: Path, stores: list[Path] | None) -> list[Path]:
    """The stores to curate: ``stores`` if given, else every ``<data>/raw/*/crawl.sqlite``."""
    if stores:
        paths = []
        for store in stores:
            path = Path(store).expanduser().resolve()
            if path.is_dir():
                path = path / "crawl.sqlite"
            if not path.is_file():
                raise UserError(
                    f"no crawl store at {path}", "check the --store path (a crawl.sqlite file)"
                )
            if path in paths:
                raise UserError(f"--store {path} is given twice", "give each store once")
            paths.append(path)
        return paths
    found = sorted((data / "raw").glob("*/crawl.sqlite"))
    if not found:
        raise UserError(
            f"no crawl store under {data / 'raw'}",
            "run `emofuse crawl reddit`, `emofuse crawl flickr` or `emofuse crawl rehydrate` "
            "first, pass --data DIR, or --store PATH",
        )
    return found


def load_inputs(paths: list[Path]) -> list[StoreInput]:
    """Read every store; refuse missing, foreign, newer-schema and empty stores."""
    from emofuse.crawlers.store import read_store

    inputs = []
    for path in paths:
        posts, images = read_store(path)  # UserError for missing, not a store, newer schema
        if posts.empty:
            raise UserError(
                f"the crawl store {path} has no posts",
                "crawl into it first, or leave it out with --store",
            )
        inputs.append(
            StoreInput(
                path=path,
                name=path.parent.name,
                root=path.parent.parent.parent,
                posts=posts,
                images=images,
            )
        )
    return inputs


def check_options(options: CurateOptions, inputs: list[StoreInput]) -> None:
    """Refuse impossible options and unknown classes before anything is computed."""
    if not (0 <= options.test_frac < 1 and 0 <= options.val_frac < 1):
        raise UserError("--test-frac and --val-frac must be in [0, 1)", "e.g. --test-frac 0.1")
    if options.test_frac + options.val_frac >= 1:
        raise UserError(
            "--test-frac plus --val-frac leaves no training posts", "make their sum below 1"
        )
    if options.min_words < 0:
        raise UserError("--min-words must be 0 or more", "e.g. --min-words 6")
    if options.min_agreement is not None and not 0 <= options.min_agreement <= 1:
        raise UserError("--min-agreement must be a share in [0, 1]", "e.g. --min-agreement 0.6")
    if not 0 <= options.near_distance <= 32:
        raise UserError("--near-distance must be in 0..32 bits", "the default is 6")
    if options.language_detector not in DETECTORS:
        raise UserError(
            f"unknown --language-detector {options.language_detector!r}",
            f"use one of {', '.join(DETECTORS)}",
        )
    labels = sorted({label for store in inputs for label in store.posts["label"].dropna()})
    if options.classes:
        missing = [c for c in options.classes if c not in labels]
        if missing:
            raise UserError(
                f"unknown class {', '.join(missing)}: the stores hold {', '.join(labels)}",
                "pass --classes with classes of the stores",
            )
        return
    unknown = [label for label in labels if label not in KNOWN_CLASSES]
    if unknown:
        raise UserError(
            f"unknown class {', '.join(unknown)} in the stores (known: {', '.join(KNOWN_CLASSES)})",
            f"pass --classes to curate it anyway, e.g. --classes {','.join(labels)}",
        )


# -- curation ---------------------------------------------------------------------------------
def _images_by_post(store: StoreInput, data: Path) -> dict[str, list[dict]]:
    """The ``ok`` images of each post, in display order, paths relative to ``data``."""
    frame = store.images
    if frame.empty:
        return {}
    frame = frame[frame["status"] == "ok"].sort_values(["post_id", "idx"], kind="mergesort")
    rebase = store.root.resolve() != data.resolve()
    result: dict[str, list[dict]] = defaultdict(list)
    for row in frame.itertuples(index=False):
        path = row.path
        if rebase and path:  # a store outside --data: keep the path pointing at the same file
            path = os.path.relpath(store.root / path, data)
        result[row.post_id].append(
            {
                "path": path,
                "sha256": row.sha256,
                "phash": row.phash,
                "width": None if _nan(row.width) else int(row.width),
                "height": None if _nan(row.height) else int(row.height),
                "source_url": row.source_url,
            }
        )
    return result


def _nan(value: Any) -> bool:
    return value is None or value != value


class _Report:
    """Removed posts per rule and class, in the order rules ran."""

    def __init__(self) -> None:
        self.removed: dict[str, Counter] = {}

    def remove(self, rule: str, labels) -> None:
        counter = self.removed.setdefault(rule, Counter())
        counter.update(labels)


def curate_posts(
    inputs: list[StoreInput], data: Path, options: CurateOptions, progress=None
) -> tuple[Any, dict]:
    """Filter, de-duplicate and split the posts of ``inputs``: (curated DataFrame, report)."""
    import pandas as pd

    report = _Report()
    frames, images = [], {}
    for store in inputs:
        frames.append(store.posts.assign(_store=store.name))
        images.update(_images_by_post(store, data))
    posts = pd.concat(frames, ignore_index=True)
    for column in ("title", "body"):  # SQL NULL may arrive as NaN: text functions want None
        posts[column] = posts[column].astype(object).where(posts[column].notna(), None)
    input_counts = Counter(posts["label"])

    for status in sorted(set(posts["status"]) - {"ok"}):
        report.remove(f"status:{status}", posts.loc[posts["status"] == status, "label"])
    posts = posts[posts["status"] == "ok"]

    # the same post in two stores (two crawls of one source): the first store keeps it
    repeated = posts["post_id"].duplicated(keep="first")
    report.remove("repeated_post", posts.loc[repeated, "label"])
    posts = posts[~repeated].copy()

    switches = {source: rules_for(source, options.rules) for source in set(posts["source"])}
    posts["_language"] = posts["source"].map(lambda s: switches[s].language)
    posts["_length"] = posts["source"].map(lambda s: switches[s].length)
    posts["_agreement"] = posts["source"].map(lambda s: switches[s].agreement)
    posts["text"] = [post_text(t, b) for t, b in zip(posts["title"], posts["body"], strict=True)]

    def drop(rule: str, removed) -> None:
        nonlocal posts
        report.remove(rule, posts.loc[removed, "label"])
        posts = posts[~removed]

    if options.classes:
        drop("class", ~posts["label"].isin(options.classes))
    agree = [
        passes_agreement(a, t, options.min_agreement)
        for a, t in zip(posts["votes_agree"], posts["votes_total"], strict=True)
    ]
    drop("agreement", posts["_agreement"] & ~pd.Series(agree, index=posts.index, dtype=bool))

    words = posts["text"].map(count_words)
    drop("length", posts["_length"] & (words < options.min_words))

    need_language = posts.index[posts["_language"]]
    english = pd.Series(True, index=posts.index)
    if len(need_language):
        detector = EnglishDetector(
            options.language_detector, workers=options.workers, cache=options.language_cache
        )
        texts = [clean_text(t) for t in posts.loc[need_language, "text"]]
        task = progress.add_task(f"English? ({len(texts)} texts)", total=None) if progress else None
        english.loc[need_language] = detector.detect_many(texts)
        if progress:
            progress.update(task, total=len(texts), completed=len(texts))
    drop("language", ~english)

    posts["images"] = [images.get(post_id, []) for post_id in posts["post_id"]]
    if not options.keep_text_only:
        drop("no_image", posts["images"].map(len) == 0)

    posts, image_counts = _deduplicate(posts, options, report)
    if posts.empty:
        removed = {rule: sum(counts.values()) for rule, counts in report.removed.items()}
        raise UserError(
            "no post is left after the filters (removed: "
            + ", ".join(f"{rule} {count}" for rule, count in removed.items() if count)
            + ")",
            "loosen a rule (e.g. --no-language, --min-words 0, --keep-text-only)",
        )
    posts = assign_splits(posts, options.test_frac, options.val_frac)
    check_no_leak(posts, options.near_distance)

    classes = ordered_classes(posts["label"])
    kept = Counter(posts["label"])
    # every rule is listed, zeros included, so that the report accounts for each of them
    rule_names = sorted(r for r in report.removed if r.startswith("status:"))
    rule_names += ["repeated_post", *RULE_ORDER]
    summary = {
        "classes": classes,
        "input": _by_class(input_counts, ordered_classes(input_counts)),
        "removed": {
            r: _by_class(report.removed.get(r, Counter()), ordered_classes(input_counts))
            for r in rule_names
        },
        "kept": _by_class(kept, classes),
        "images": image_counts,
        "rules_per_source": {s: asdict(switches[s]) for s in sorted(switches)},
        "min_words": options.min_words,
        "min_agreement": options.min_agreement if options.min_agreement is not None else "majority",
        "near_distance": options.near_distance,
        "language_detector": options.language_detector,
        "keep_text_only": options.keep_text_only,
    }
    return posts[CURATED_COLUMNS].reset_index(drop=True), summary


def _deduplicate(posts, options: CurateOptions, report: _Report):
    """Drop duplicate images, best-ranked post first; drop posts left without images."""
    import numpy as np

    order = posts.assign(_rank=posts["rank"].astype("float64").fillna(-np.inf)).sort_values(
        ["_rank", "post_id"], ascending=[False, True], kind="mergesort"
    )
    owners, shas, hashes = [], [], []
    for post_id, images in zip(order["post_id"], order["images"], strict=True):
        for position, image in enumerate(images):
            owners.append((post_id, position))
            shas.append(image["sha256"])
            hashes.append(image["phash"])
    result = deduplicate(shas, hashes, options.near_distance)
    dropped = {owner for owner, keep in zip(owners, result.keep, strict=True) if not keep}
    had_images = posts["images"].map(len) > 0
    posts = posts.copy()
    posts["images"] = [
        [image for i, image in enumerate(images) if (post_id, i) not in dropped]
        for post_id, images in zip(posts["post_id"], posts["images"], strict=True)
    ]
    if not options.keep_text_only:
        removed = had_images & (posts["images"].map(len) == 0)
        report.remove("duplicate", posts.loc[removed, "label"])
        posts = posts[~removed]
    counts = {
        "candidates": len(owners),
        "exact_duplicates": result.exact,
        "near_duplicates": result.near,
        "kept": int(posts["images"].map(len).sum()),
    }
    return posts, counts


def ordered_classes(labels) -> list[str]:
    """Reddit's classes in the paper's Table 2 order (joy, fear, anger, disgust), others sorted."""
    present = set(labels)
    if present <= set(REDDIT_CLASSES):
        return [c for c in REDDIT_CLASSES if c in present]
    return sorted(present)


def _by_class(counter: Counter, classes: list[str]) -> dict[str, int]:
    return {c: int(counter.get(c, 0)) for c in classes}


# -- outputs ----------------------------------------------------------------------------------
def posts_table(posts):
    """The curated posts as an Arrow table with the fixed schema of docs/contracts.md."""
    import pyarrow as pa

    image = pa.struct(
        [
            ("path", pa.string()),
            ("sha256", pa.string()),
            ("phash", pa.string()),
            ("width", pa.int64()),
            ("height", pa.int64()),
            ("source_url", pa.string()),
        ]
    )
    schema = pa.schema(
        [
            ("post_id", pa.string()),
            ("source", pa.string()),
            ("label", pa.string()),
            ("title", pa.string()),
            ("body", pa.string()),
            ("text", pa.string()),
            ("rank", pa.float64()),
            ("votes_agree", pa.int64()),
            ("votes_total", pa.int64()),
            ("created_utc", pa.float64()),
            ("permalink", pa.string()),
            ("url", pa.string()),
            ("community", pa.string()),
            ("author_hash", pa.string()),
            ("images", pa.list_(image)),
            ("split", pa.string()),
        ]
    )
    columns = {}
    for name in CURATED_COLUMNS:
        values = posts[name].tolist()
        columns[name] = [None if _nan(v) else v for v in values] if name != "images" else values
    for name in ("votes_agree", "votes_total"):
        columns[name] = [None if v is None else int(v) for v in columns[name]]
    for name in ("rank", "created_utc"):
        columns[name] = [None if v is None else float(v) for v in columns[name]]
    return pa.table(columns, schema=schema)


def write_dataset(folder: Path, posts, report: dict, stats: list[dict], meta: dict) -> None:
    """Write the dataset into a temporary folder, then swap it in place of ``folder``."""
    import pyarrow.parquet as pq

    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.parent / f".{folder.name}.writing-{os.getpid()}"
    if temporary.exists():
        shutil.rmtree(temporary)
    temporary.mkdir()
    # no timestamps and fixed options: the same inputs give the same bytes
    pq.write_table(posts_table(posts), temporary / "posts.parquet", compression="zstd")
    _write_json(temporary / "dataset.json", meta)
    _write_json(temporary / "filter_report.json", report)
    write_stats(stats, temporary)
    previous = folder.parent / f".{folder.name}.previous-{os.getpid()}"
    if folder.exists():
        folder.rename(previous)
    temporary.rename(folder)
    if previous.exists():
        shutil.rmtree(previous)


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def plan(data: Path, stores: list[Path] | None, name: str | None) -> dict[str, list[Path]]:
    """Dataset name -> its stores: one dataset per store, or all of them under ``name``."""
    paths = find_stores(data, stores)
    if name:
        return {name: paths}
    planned: dict[str, list[Path]] = {}
    for path in paths:
        if path.parent.name in planned:
            raise UserError(
                f"two stores would both make the dataset {path.parent.name!r}",
                "pass --name to merge them into one dataset",
            )
        planned[path.parent.name] = [path]
    return planned


def curate(
    data: Path,
    stores: list[Path] | None = None,
    name: str | None = None,
    options: CurateOptions | None = None,
    show_progress: bool = False,
) -> list[CurateResult]:
    """Curate every planned dataset. All inputs are read and checked before any write."""
    from contextlib import nullcontext

    from emofuse.log import progress

    options = options or CurateOptions()
    planned = plan(data, stores, name)
    loaded = {dataset: load_inputs(paths) for dataset, paths in planned.items()}
    # classes are checked against all the stores of the run: --classes joy,awe may pick from two
    check_options(options, [store for inputs in loaded.values() for store in inputs])
    computed = []
    with progress() if show_progress else nullcontext() as bar:
        task = bar.add_task("datasets", total=len(loaded)) if bar else None
        for dataset, inputs in loaded.items():
            if bar:
                bar.update(task, description=f"curating {dataset}")
            posts, summary = curate_posts(inputs, data, options, bar)
            stats = dataset_stats(dataset, posts, summary["classes"])
            computed.append((dataset, inputs, posts, summary, stats))
            if bar:
                bar.advance(task)
    results = []
    for dataset, inputs, posts, summary, stats in computed:
        folder = curated_dir(data, dataset)
        report = {"dataset": dataset, **summary}
        meta = {
            "name": dataset,
            "schema_version": CURATED_SCHEMA_VERSION,
            "sources": [
                {
                    "store": _display_path(store.path, data),
                    "source": sorted(set(store.posts["source"])),
                    "posts": len(store.posts),
                }
                for store in inputs
            ],
            "classes": summary["classes"],
            "data_dir": str(data),
            "created_by": f"emofuse {__version__}",
            "options": {
                **asdict(options),
                # how fast, not what: kept out so that runs with other settings match
                "workers": None,
                "language_cache": None,
            },
        }
        write_dataset(folder, posts, report, stats, meta)
        results.append(CurateResult(dataset, folder, posts, report, stats))
    return results


def _display_path(path: Path, data: Path) -> str:
    try:
        return str(path.resolve().relative_to(data.resolve()))
    except ValueError:
        return str(path)
