"""Publish a curated dataset as a folder that others can load, read about and verify.

A release is built in a temporary folder beside ``--out`` and renamed into place only when it
is complete, so a failed or refused release never leaves a half-written folder behind, and
every check on the input (curated data present, exclusion list well formed, images on disk,
output folder free) runs before the first byte is written.

Formats (see docs/release.md for the exact layout):

``parquet`` (default)
    ``data/<split>-NNNNN-of-MMMMM.parquet``: one row per post, the image bytes in an ``image``
    column (Hugging Face ``Image`` feature, a struct ``{bytes, path}``). A post may hold several
    images (Reddit galleries, imgur albums): the first is in ``image``, the others, in order,
    in ``more_images`` (a list of the same structs), so no image is stored twice.
``imagefolder``
    ``data/<split>/<file>.jpg`` and ``data/<split>/metadata.csv``: the Hugging Face ImageFolder
    layout, first image of each post only; posts without an image cannot be represented and
    are left out (counted in the card).
``--ids-only``
    ``data/<split>.csv`` with ids, labels, ranks and splits and no content at all: the list a
    third party rehydrates with ``emofuse crawl rehydrate --from DIR``.

Every release has ``README.md`` (dataset card: Hugging Face YAML header + Datasheets for
Datasets sections), ``croissant.json`` (MLCommons Croissant 1.0), ``release.json`` (a machine
manifest) and ``SHA256SUMS`` (``sha256sum -c`` format).

People: authors appear only as the salted ``author_hash`` written by the crawler; the salt is
never read into the release, and the finished folder is scanned for it byte by byte. Flickr
links that carry the owner's user name are replaced by the owner-free photo URL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from emofuse import __version__
from emofuse.errors import UserError
from emofuse.schema import CURATED_COLUMNS, CURATED_SCHEMA_VERSION, SPLITS

FORMATS = ("parquet", "imagefolder")
DEFAULT_LICENSE = "other"
# Hugging Face stores shards of at most 500 MB by default; the same keeps shards easy to move.
DEFAULT_MAX_SHARD_BYTES = 500 * 1024 * 1024
ROWS_PER_ROW_GROUP = 100  # small row groups: readers (and the HF viewer) stream a few images

_FULL_ID = re.compile(r"^(reddit|flickr):[A-Za-z0-9_-]+$")
_BARE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
# A Flickr page URL names the owner: https://www.flickr.com/photos/<owner>/<photo id>/
_FLICKR_OWNER_URL = re.compile(r"flickr\.com/photos/[^/\s]+", re.IGNORECASE)

# What the sources allow, stated in every card (the release cannot change these terms).
SOURCE_TERMS = {
    "reddit": (
        "Reddit posts stay the property of their authors and are governed by the "
        "[Reddit User Agreement](https://www.redditinc.com/policies/user-agreement) and the "
        "[Reddit Data API Terms](https://www.redditinc.com/policies/data-api-terms): use them "
        "for non-commercial research, do not try to identify the people who posted them, and "
        "delete posts that their authors have deleted (rebuild from the ids-only release with "
        "an up-to-date exclusion list)."
    ),
    "flickr": (
        "Flickr photos, titles and descriptions are the copyright of their owners unless the "
        "owner chose a Creative Commons licence; access is governed by the "
        "[Flickr API Terms of Use](https://www.flickr.com/help/terms/api). Respect each "
        "photo's licence and remove photos that their owners delete or make private."
    ),
}
REHYDRATE_COMMAND = "emofuse crawl rehydrate --from DIR"


@dataclass
class ReleaseSummary:
    """What a release wrote: shown as the command's summary table and kept in release.json."""

    name: str
    out: Path
    fmt: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> class -> posts
    images: int = 0
    posts_with_image: int = 0
    excluded: int = 0
    exclusions_not_found: int = 0
    left_out_without_image: int = 0
    files: list[str] = field(default_factory=list)
    total_bytes: int = 0

    @property
    def posts(self) -> int:
        return sum(sum(per_class.values()) for per_class in self.counts.values())


@dataclass
class CuratedDataset:
    """A curated folder read into memory (posts without image bytes)."""

    folder: Path
    data: Path  # the data directory the image paths are relative to
    name: str
    classes: list[str]
    sources: list[str]
    posts: pd.DataFrame
    info: dict[str, Any]
    filter_report: dict[str, Any]
    stats_md: str


# -- input --------------------------------------------------------------------------------
def load_curated(folder: Path, data: Path | None = None) -> CuratedDataset:
    """Read ``<curated>/posts.parquet`` and its side files; UserError if they are not usable."""
    folder = Path(folder)
    posts_path = folder / "posts.parquet"
    if not posts_path.is_file():
        raise UserError(
            f"no curated dataset at {folder} (posts.parquet missing)",
            "run `emofuse curate --split` first, or pass --curated PATH / --name NAME",
        )
    try:
        posts = pd.read_parquet(posts_path)
    except Exception as error:  # pyarrow raises several types for a damaged file
        raise UserError(
            f"{posts_path} is not a readable Parquet file ({type(error).__name__})",
            "rebuild it with `emofuse curate --split`",
        ) from error
    missing = [column for column in CURATED_COLUMNS if column not in posts.columns]
    if missing:
        raise UserError(
            f"{posts_path} lacks the columns {', '.join(missing)}",
            "rebuild it with `emofuse curate --split` (see docs/contracts.md)",
        )
    bad_splits = sorted(set(posts["split"].dropna().astype(str)) - set(SPLITS))
    if bad_splits or posts["split"].isna().any():
        raise UserError(
            f"{posts_path} has posts without a valid split ({bad_splits or 'null'})",
            "rebuild it with `emofuse curate --split`",
        )
    if posts["post_id"].duplicated().any():
        raise UserError(f"{posts_path} lists a post twice", "rebuild it with `emofuse curate`")

    info = _read_json(folder / "dataset.json")
    version = info.get("schema_version")
    if isinstance(version, int) and version > CURATED_SCHEMA_VERSION:
        raise UserError(
            f"{folder} was curated by a newer emofuse (curated schema {version}, this one "
            f"reads up to {CURATED_SCHEMA_VERSION})",
            "upgrade emofuse (pip install -U emofuse)",
        )
    filter_report = _read_json(folder / "filter_report.json")
    stats_md = (folder / "stats.md").read_text() if (folder / "stats.md").is_file() else ""
    classes = [str(c) for c in info.get("classes") or sorted(posts["label"].astype(str).unique())]
    unknown = sorted(set(posts["label"].astype(str)) - set(classes))
    if unknown:
        raise UserError(
            f"{posts_path} has labels {unknown} missing from dataset.json classes",
            "rebuild it with `emofuse curate`",
        )
    # from the posts: dataset.json's "sources" describes the stores they came from
    sources = sorted(posts["source"].astype(str).unique())
    return CuratedDataset(
        folder=folder,
        data=_find_data_dir(folder, posts, info, data),
        name=str(info.get("name") or folder.name),
        classes=classes,
        sources=sources,
        posts=posts.reset_index(drop=True),
        info=info,
        filter_report=filter_report,
        stats_md=stats_md,
    )


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON ({error})", "rebuild it") from error
    return value if isinstance(value, dict) else {}


def _find_data_dir(
    folder: Path, posts: pd.DataFrame, info: dict[str, Any], data: Path | None
) -> Path:
    """The folder image paths are relative to: <curated>/../.., dataset.json's, or --data."""
    candidates = [folder.resolve().parents[1]]
    if info.get("data_dir"):
        candidates.append(Path(info["data_dir"]))
    if data is not None:
        candidates.append(Path(data))
    first_image = next((imgs[0]["path"] for imgs in posts["images"] if len(imgs)), None)
    if first_image is None:
        return candidates[0]
    for candidate in candidates:
        if (candidate / first_image).is_file():
            return candidate
    raise UserError(
        f"the images of {folder} are not on disk (looked for {first_image} under "
        f"{', '.join(str(c) for c in candidates)})",
        "pass --data DIR, the data directory the curated dataset was built in",
    )


def read_exclusions(path: Path) -> set[str]:
    """Post ids on a removal list: one per line, ``reddit:<id>``, ``flickr:<id>`` or bare.

    Blank lines and lines starting with ``#`` are ignored. Anything else is an error naming
    the first bad line, so that a list in the wrong format is never half applied.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"exclusion list {path} does not exist", "check the --exclude path")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise UserError(
            f"exclusion list {path} is not UTF-8 text", "write one post id per line"
        ) from error
    ids: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not (_FULL_ID.match(line) or _BARE_ID.match(line)):
            raise UserError(
                f"exclusion list {path} line {number} is not a post id: {line[:60]!r}",
                "write one id per line: reddit:<id>, flickr:<id> or the bare id",
            )
        ids.add(line)
    return ids


def apply_exclusions(posts: pd.DataFrame, exclusions: set[str]) -> tuple[pd.DataFrame, int, int]:
    """Drop listed posts. Returns (kept posts, posts dropped, list entries matching no post)."""
    if not exclusions:
        return posts, 0, 0
    native = posts["post_id"].str.split(":", n=1).str[1]
    drop = posts["post_id"].isin(exclusions) | native.isin(exclusions)
    matched = set(posts.loc[drop, "post_id"]) | set(native[drop])
    not_found = sum(1 for entry in exclusions if entry not in matched)
    return posts.loc[~drop].reset_index(drop=True), int(drop.sum()), not_found


def check_images_on_disk(dataset: CuratedDataset, posts: pd.DataFrame) -> int:
    """Every image of every released post must be readable; returns how many there are."""
    missing = []
    count = 0
    for images in posts["images"]:
        for image in images:
            count += 1
            if not (dataset.data / image["path"]).is_file():
                missing.append(image["path"])
    if missing:
        raise UserError(
            f"{len(missing)} image(s) of the curated dataset are missing, e.g. {missing[0]}",
            "re-run the crawl to fetch them, then `emofuse curate --split`",
        )
    return count


def check_out_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file", "choose a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise UserError(
                f"output folder {out} is not empty",
                "choose another --out, or pass --force to replace it",
            )
        # --force replaces an earlier release, never an arbitrary folder (a typo in --out
        # must not delete someone's files)
        if not (out / "release.json").is_file():
            raise UserError(
                f"output folder {out} is not empty and is not an emofuse release, so --force "
                "will not replace it",
                "choose another --out, or empty that folder yourself",
            )


def known_salts(data: Path) -> list[bytes]:
    """The author-hash salt, wherever the crawler keeps it: $EMOFUSE_SALT and salt files."""
    salts = []
    if os.environ.get("EMOFUSE_SALT"):
        salts.append(os.environ["EMOFUSE_SALT"])
    for pattern in ("*salt*", "raw/*salt*", "raw/*/*salt*"):
        for path in data.glob(pattern):
            if path.is_file() and path.stat().st_size <= 4096:
                salts.append(path.read_text(errors="ignore").strip())
    return [salt.encode() for salt in salts if len(salt) >= 4]


# -- rows -----------------------------------------------------------------------------------
def public_provenance(row: pd.Series) -> dict[str, Any]:
    """permalink, url and community with nothing that names a person.

    A Flickr page URL and "owner path" name the owner: they are replaced by Flickr's
    owner-free photo URL, and the community (owner path) is dropped.
    """
    permalink, url, community = row["permalink"], row["url"], row["community"]
    if row["source"] == "flickr":
        native = str(row["post_id"]).split(":", 1)[1]
        photo_url = f"https://www.flickr.com/photo.gne?id={native}"
        permalink = photo_url
        if url is None or _FLICKR_OWNER_URL.search(str(url)):
            url = photo_url
        community = None
    return {"permalink": permalink, "url": url, "community": community}


def _image_name(post_id: str, index: int) -> str:
    return f"{post_id.replace(':', '_')}_{index}.jpg"


def _nullable_int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _nullable_float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _nullable_str(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


# The released text and metadata columns, in order, and how each value is made plain (None
# for a missing one). permalink, url and community come from public_provenance.
_TEXT_COLUMNS = {
    "title": _nullable_str,
    "body": _nullable_str,
    "text": _nullable_str,
    "rank": _nullable_float,
    "votes_agree": _nullable_int,
    "votes_total": _nullable_int,
    "created_utc": _nullable_float,
    "permalink": _nullable_str,
    "url": _nullable_str,
    "community": _nullable_str,
    "author_hash": _nullable_str,
}


def _text_columns(row: pd.Series) -> dict[str, Any]:
    values = {**row.to_dict(), **public_provenance(row)}
    return {
        "post_id": str(row["post_id"]),
        "source": str(row["source"]),
        **{column: plain(values[column]) for column, plain in _TEXT_COLUMNS.items()},
    }


def release_features(classes: list[str], fmt: str) -> Any:
    """The Hugging Face ``datasets.Features`` of a release (drives Parquet schema and card)."""
    from datasets import ClassLabel, Features, Image, List, Value

    columns: dict[str, Any] = {
        "post_id": Value("string"),
        "source": Value("string"),
        "label": ClassLabel(names=classes),
    }
    if fmt == "ids-only":
        columns.update(
            {
                "native_id": Value("string"),
                "rank": Value("float64"),
                "votes_agree": Value("int64"),
                "votes_total": Value("int64"),
                "split": Value("string"),
            }
        )
        return Features(columns)
    if fmt == "parquet":
        columns["image"] = Image()
        columns["more_images"] = List(Image())
    else:
        columns["image"] = Image()
    columns.update(
        {
            "title": Value("string"),
            "body": Value("string"),
            "text": Value("string"),
            "rank": Value("float64"),
            "votes_agree": Value("int64"),
            "votes_total": Value("int64"),
            "created_utc": Value("float64"),
            "permalink": Value("string"),
            "url": Value("string"),
            "community": Value("string"),
            "author_hash": Value("string"),
            "n_images": Value("int64"),
        }
    )
    if fmt == "parquet":
        columns["image_sha256"] = List(Value("string"))  # every image of the post, in order
        columns["image_source_url"] = List(Value("string"))
    else:  # imagefolder: metadata.csv describes the one image it holds
        columns["image_sha256"] = Value("string")
        columns["image_source_url"] = Value("string")
    return Features(columns)


# -- writers --------------------------------------------------------------------------------
def _plan_shards(posts: pd.DataFrame, data: Path, max_shard_bytes: int) -> list[pd.DataFrame]:
    """Cut a split into shards of about max_shard_bytes of image bytes (at least one shard)."""
    shards, start, size = [], 0, 0
    for position, images in enumerate(posts["images"]):
        post_bytes = sum((data / image["path"]).stat().st_size for image in images)
        if size and size + post_bytes > max_shard_bytes:
            shards.append(posts.iloc[start:position])
            start, size = position, 0
        size += post_bytes
    shards.append(posts.iloc[start:])
    return shards


def _write_parquet_split(
    posts: pd.DataFrame,
    split: str,
    dataset: CuratedDataset,
    features: Any,
    folder: Path,
    max_shard_bytes: int,
    advance: Any,
) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = features.arrow_schema  # carries the "huggingface" metadata (Image, ClassLabel)
    class_index = {name: i for i, name in enumerate(dataset.classes)}
    shards = _plan_shards(posts, dataset.data, max_shard_bytes)
    written = []
    for number, shard in enumerate(shards):
        name = f"data/{split}-{number:05d}-of-{len(shards):05d}.parquet"
        with pq.ParquetWriter(folder / name, schema, compression="zstd") as writer:
            for start in range(0, max(len(shard), 1), ROWS_PER_ROW_GROUP):
                rows = []
                for _, row in shard.iloc[start : start + ROWS_PER_ROW_GROUP].iterrows():
                    images = [
                        {
                            "bytes": (dataset.data / image["path"]).read_bytes(),
                            "path": _image_name(row["post_id"], index),
                        }
                        for index, image in enumerate(row["images"])
                    ]
                    rows.append(
                        {
                            **_text_columns(row),
                            "label": class_index[str(row["label"])],
                            "image": images[0] if images else None,
                            "more_images": images[1:],
                            "n_images": len(images),
                            "image_sha256": [str(image["sha256"]) for image in row["images"]],
                            "image_source_url": [
                                str(image["source_url"] or "") for image in row["images"]
                            ],
                        }
                    )
                    advance()
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
        written.append(name)
    return written


def _write_imagefolder_split(
    posts: pd.DataFrame, split: str, dataset: CuratedDataset, folder: Path, advance: Any
) -> tuple[list[str], int]:
    """ImageFolder: one JPEG per post (its first image) plus metadata.csv. Returns files, left."""
    split_dir = folder / "data" / split
    split_dir.mkdir(parents=True, exist_ok=True)
    rows, files, left_out = [], [], 0
    for _, row in posts.iterrows():
        advance()
        if not len(row["images"]):
            left_out += 1
            continue
        first = row["images"][0]
        file_name = _image_name(row["post_id"], 0)
        shutil.copyfile(dataset.data / first["path"], split_dir / file_name)
        files.append(f"data/{split}/{file_name}")
        rows.append(
            {
                "file_name": file_name,
                **_text_columns(row),
                "label": str(row["label"]),
                "n_images": len(row["images"]),
                "image_sha256": str(first["sha256"]),
                "image_source_url": str(first["source_url"] or ""),
            }
        )
    columns = ["file_name", "post_id", "source", "label"] + [
        c for c in (rows[0] if rows else {}) if c not in ("file_name", "post_id", "source", "label")
    ]
    pd.DataFrame(rows, columns=columns).to_csv(split_dir / "metadata.csv", index=False)
    return [f"data/{split}/metadata.csv", *files], left_out


def ids_only_frame(posts: pd.DataFrame) -> pd.DataFrame:
    """The ids-only table: what identifies a post and its place in the dataset, no content."""
    frame = pd.DataFrame(
        {
            "post_id": posts["post_id"].astype(str),
            "source": posts["source"].astype(str),
            "native_id": posts["post_id"].astype(str).str.split(":", n=1).str[1],
            "label": posts["label"].astype(str),
            "rank": posts["rank"].astype("float64"),
            "votes_agree": posts["votes_agree"].astype("Int64"),
            "votes_total": posts["votes_total"].astype("Int64"),
            "split": posts["split"].astype(str),
        }
    )
    return frame


# -- card, croissant, checksums -----------------------------------------------------------
def _size_category(n: int) -> str:
    for limit, name in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < limit:
            return name
    return "1M<n<10M"


def _yaml_header(
    summary: ReleaseSummary,
    features: Any,
    license_id: str,
    data_files: dict[str, str],
    split_bytes: dict[str, int],
) -> str:
    import yaml
    from datasets import DatasetInfo

    info_yaml = DatasetInfo(features=features)._to_yaml_dict()
    # num_bytes: the split's files on disk (HF counts Arrow bytes; only the count is checked)
    info_yaml["splits"] = [
        {
            "name": split,
            "num_bytes": split_bytes.get(split, 0),
            "num_examples": sum(summary.counts[split].values()),
        }
        for split in SPLITS
        if split in summary.counts
    ]
    header: dict[str, Any] = {
        "license": license_id,
        "language": ["en"],
        "pretty_name": summary.name,
        "task_categories": ["image-classification", "text-classification"],
        "tags": ["emotion", "multimodal", "social-media", "emofuse"],
        "size_categories": [_size_category(summary.posts)],
        "configs": [
            {
                "config_name": "default",
                "data_files": [
                    {"split": split, "path": pattern} for split, pattern in data_files.items()
                ],
            }
        ],
        "dataset_info": info_yaml,
    }
    if license_id == "other":
        header["license_name"] = "source-terms"
        header["license_link"] = "LICENSE"  # written beside the card: the sources' terms
    return "---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True) + "---\n"


def _markdown_table(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _without_local_paths(value: Any) -> Any:
    """Options and reports as shown in the card: absolute paths cut to their last part (a
    local path is meaningless elsewhere and may hold a user name)."""
    if isinstance(value, dict):
        return {key: _without_local_paths(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_local_paths(item) for item in value]
    if isinstance(value, str) and (
        value.startswith(("/", "~")) or re.match(r"^[A-Za-z]:\\", value)
    ):
        return f".../{Path(value).name}"
    return value


def _is_counts(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value.values())
    )


def _filter_report_md(report: dict[str, Any]) -> str:
    """The curation report as Markdown: one row per rule (class -> count), in its order.

    Reads the nesting of curate's filter_report.json (``input``, ``removed: {rule: {class:
    n}}``, ``kept``) and any flatter variant; what is not a count table is shown as JSON.
    """
    if not report:
        return "_No filter report was found beside the curated data._"
    rows: list[tuple[str, dict[str, Any]]] = []
    others: dict[str, Any] = {}
    for key, value in report.items():
        if _is_counts(value):
            rows.append((key, value))
        elif isinstance(value, dict) and value and all(_is_counts(v) for v in value.values()):
            rows += [(f"{key}: {rule}", counts) for rule, counts in value.items()]
        elif key not in ("dataset", "classes"):
            others[key] = value
    parts = []
    # one table per set of columns: class counts together, other tallies (images) apart
    tables: dict[tuple[str, ...], list[tuple[str, dict[str, Any]]]] = {}
    for step, counts in rows:
        tables.setdefault(tuple(counts), []).append((step, counts))
    for columns, table_rows in tables.items():
        parts.append(
            _markdown_table(
                ["step", *columns],
                [[step, *(counts.get(c, 0) for c in columns)] for step, counts in table_rows],
            )
        )
    if others:
        shown = json.dumps(_without_local_paths(others), indent=2, default=str)[:4000]
        parts.append("```json\n" + shown + "\n```")
    return "\n\n".join(parts)


def _demote_headings(markdown: str) -> str:
    """curate's stats.md under the card's own headings: '# X' becomes '### X'."""
    return "\n".join(
        "##" + line if line.startswith("#") else line for line in markdown.strip().splitlines()
    )


def dataset_card(
    dataset: CuratedDataset,
    summary: ReleaseSummary,
    features: Any,
    license_id: str,
    data_files: dict[str, str],
    split_bytes: dict[str, int] | None = None,
) -> str:
    """README.md: Hugging Face YAML header, then the Datasheets for Datasets sections."""
    counts_rows = [
        [label, *(summary.counts.get(split, {}).get(label, 0) for split in SPLITS)]
        + [sum(summary.counts.get(split, {}).get(label, 0) for split in SPLITS)]
        for label in dataset.classes
    ]
    counts_rows.append(
        ["**total**", *(sum(summary.counts.get(s, {}).values()) for s in SPLITS), summary.posts]
    )
    counts = _markdown_table(["class", *SPLITS, "total"], counts_rows)
    sources = ", ".join(dataset.sources)
    # never the local path: it is meaningless elsewhere and may hold a user name
    where = f"path/to/{summary.out.name}"
    n_with_image = int(summary.posts_with_image)
    terms = "\n".join(f"- **{s}**: {SOURCE_TERMS[s]}" for s in dataset.sources if s in SOURCE_TERMS)
    options = dataset.info.get("options") or {}
    if summary.fmt == "ids-only":
        what = (
            "This is an **ids-only** release: ids, labels, ranks and splits, with no titles, "
            "texts, images or links. Rebuild the content from the sources with:\n\n"
            f"```bash\n{REHYDRATE_COMMAND.replace('DIR', where)}\n```\n\n"
            "Posts deleted at the source since the release cannot be fetched back; that is by "
            "design (their authors withdrew them)."
        )
        loading = (
            "```python\nfrom datasets import load_dataset\n"
            f'ids = load_dataset("{where}")  # post_id, label, rank, split, ...\n```'
        )
    else:
        what = (
            "Each row is one post: its text (title and body), its first image in `image`"
            + (
                ", the other images of a gallery or album in `more_images`"
                if summary.fmt == "parquet"
                else " (ImageFolder layout: other images of a gallery are not included)"
            )
            + ", the emotion label, its rank (Reddit score or Flickr agreeing votes) and "
            "provenance. "
            + (
                f"{summary.left_out_without_image} post(s) without an image were left out, as "
                "the ImageFolder layout needs one image per row."
                if summary.fmt == "imagefolder"
                else ""
            )
        )
        loading = (
            "```python\nfrom datasets import load_dataset\n"
            f'ds = load_dataset("{where}")\n'
            'ds["train"][0]["image"]  # a PIL image\n'
            'ds["train"].features["label"].names\n```'
        )
    body = f"""
# {summary.name}

A multimodal (image + text) emotion dataset built with
[emofuse](https://github.com/emofuse/emofuse) {__version__}, following Duong, Lebret and
Aberer (2017), "Multimodal Classification for Analysing Social Media". Sources: {sources}.
Classes: {", ".join(dataset.classes)}.

{what}

## Loading

{loading}

Files are listed with their SHA-256 in `SHA256SUMS` (`sha256sum -c SHA256SUMS`), and described
for ML tools in `croissant.json` (MLCommons Croissant 1.0).

## Motivation

Built to study emotion classification from images and their text together, and above all
what happens when one of the two is missing (paper sections 4 and 5). The labels come from
where the posts were made (a subreddit devoted to one emotion) or from crowd votes (Flickr
photos labelled by at least five annotators), not from the people who release the dataset.

## Composition

{summary.posts} posts, {summary.images} images. Posts per class and split:

{counts}

Fields: `post_id` (`reddit:<id36>` or `flickr:<photo id>`), `source`, `label`, `title`,
`body`, `text` (what the models read), `rank`, `votes_agree`/`votes_total` (Flickr annotator
agreement), `created_utc`, `permalink`, `url`, `community` (subreddit), `author_hash` (a salted
hash: equal for two posts of one author, unusable to find who it is; the salt is not
released). A post may hold several images (galleries, albums). Text may mention people or
contain offensive material: r/gore and r/rage are what their names say.

## Collection process

Crawled with emofuse through the sources' official APIs: `emofuse crawl reddit` (PRAW; top
posts of emotion subreddits, image posts: direct images, imgur, galleries), `emofuse crawl
flickr` (flickrapi; the title and description of each photo of a labelled id list) or
`emofuse crawl rehydrate` (the ids of an earlier release, fetched again). Images were
converted to RGB JPEG and named from post ids. In this release {n_with_image} of
{summary.posts} posts have at least one image; {summary.posts - n_with_image} are text only.

## Preprocessing, cleaning, labelling

Curated with `emofuse curate --split`. Its rules (paper sections 5.2 and 5.4) are: English
text, more than 5 words, Flickr majority agreement, no post without an image, exact and
near-duplicate images removed (the higher ranked post kept, no image in two splits); each can
be switched on or off per source, and the report below says what each one removed here.
Split per class by rank (Reddit score, Flickr agreeing votes): top 10% test, next 10%
validation, rest train. The labels are the sources' (subreddit, annotator majority): emofuse
labels nothing itself.

{_filter_report_md(dataset.filter_report)}

Options of the curation run:

```json
{json.dumps(_without_local_paths(options), indent=2, default=str)}
```

{_demote_headings(dataset.stats_md)}

## Uses

Research on multimodal emotion classification and on models that cope with a missing
modality; benchmarking with `emofuse benchmark run`. Not for profiling or identifying
individuals, not for decisions about people. The labels reflect where a post was made or what
a few annotators felt: they are noisy, culturally situated and skewed to English-speaking
users.

## Distribution

Released with `emofuse release` on {release_time().date().isoformat()} (release licence field:
`{license_id}`). The licence of the release cannot exceed the sources' terms:

{terms}

{summary.excluded} post(s) on the removal list were dropped before anything was written
(`--exclude`).

## Maintenance

To have a post removed, send its `post_id`: it goes on the removal list and the next release
(`emofuse release --exclude FILE`) drops it. Users of an ids-only release should rehydrate
again from time to time (`{REHYDRATE_COMMAND}`) so that withdrawn posts disappear.
"""
    return _yaml_header(summary, features, license_id, data_files, split_bytes or {}) + body


def croissant_metadata(
    summary: ReleaseSummary,
    dataset: CuratedDataset,
    license_id: str,
    checksums: dict[str, str],
) -> dict[str, Any]:
    """croissant.json (Croissant 1.0), built with mlcroissant: one record set per split."""
    import mlcroissant as mlc

    distribution = []
    record_sets = []
    if summary.fmt == "imagefolder":
        columns = {"post_id": "TEXT", "label": "TEXT", "text": "TEXT", "rank": "FLOAT"}
        for split in summary.counts:
            csv_name = f"data/{split}/metadata.csv"
            distribution.append(
                mlc.FileObject(
                    id=f"{split}-metadata",
                    name=f"{split}-metadata",
                    content_url=csv_name,
                    encoding_formats=["text/csv"],
                    sha256=checksums[csv_name],
                )
            )
            distribution.append(
                mlc.FileSet(
                    id=f"{split}-images",
                    name=f"{split}-images",
                    encoding_formats=["image/jpeg"],
                    includes=[f"data/{split}/*.jpg"],
                )
            )
            fields = [
                mlc.Field(
                    id=f"{split}/{column}",
                    name=column,
                    data_types=[getattr(mlc.DataType, kind)],
                    source=mlc.Source(
                        file_object=f"{split}-metadata", extract=mlc.Extract(column=column)
                    ),
                )
                for column, kind in columns.items()
            ]
            record_sets.append(mlc.RecordSet(id=split, name=split, fields=fields))
    else:
        is_ids = summary.fmt == "ids-only"
        columns = {"post_id": "TEXT", "source": "TEXT", "label": "INTEGER", "rank": "FLOAT"}
        if is_ids:
            columns["label"] = "TEXT"
            columns["native_id"] = "TEXT"
            columns["split"] = "TEXT"
        else:
            columns["text"] = "TEXT"
        for split in summary.counts:
            files = [f for f in summary.files if f.startswith(f"data/{split}")]
            file_ids = []
            for name in files:
                file_id = Path(name).name
                distribution.append(
                    mlc.FileObject(
                        id=file_id,
                        name=file_id,
                        content_url=name,
                        encoding_formats=["text/csv" if is_ids else "application/x-parquet"],
                        sha256=checksums[name],
                    )
                )
                file_ids.append(file_id)
            # a record set reads one file; a split cut in several shards gets a FileSet
            if len(file_ids) == 1:
                source_kwargs = {"file_object": file_ids[0]}
            else:
                set_id = f"{split}-shards"
                distribution.append(
                    mlc.FileSet(
                        id=set_id,
                        name=set_id,
                        encoding_formats=["application/x-parquet"],
                        includes=[f"data/{split}-*.parquet"],
                    )
                )
                source_kwargs = {"file_set": set_id}
            fields = [
                mlc.Field(
                    id=f"{split}/{column}",
                    name=column,
                    data_types=[getattr(mlc.DataType, kind)],
                    source=mlc.Source(**source_kwargs, extract=mlc.Extract(column=column)),
                )
                for column, kind in columns.items()
            ]
            if not is_ids:
                fields.append(
                    mlc.Field(
                        id=f"{split}/image",
                        name="image",
                        description="First image of the post (JPEG bytes); null if none.",
                        data_types=[mlc.DataType.IMAGE_OBJECT],
                        source=mlc.Source(
                            **source_kwargs,
                            extract=mlc.Extract(column="image"),
                            transforms=[mlc.Transform(json_path="bytes")],
                        ),
                    )
                )
            record_sets.append(mlc.RecordSet(id=split, name=split, fields=fields))
    metadata = mlc.Metadata(
        name=summary.name,
        description=(
            f"Multimodal emotion dataset ({', '.join(dataset.sources)}), classes "
            f"{', '.join(dataset.classes)}; {summary.posts} posts; format {summary.fmt}. "
            "See README.md for the datasheet and the sources' terms."
        ),
        url="https://emoclassifier.github.io/",
        license=[license_id],
        version="1.0.0",
        cite_as=(
            "Duong, Lebret, Aberer. Multimodal Classification for Analysing Social Media. 2017."
        ),
        date_published=release_time(),
        distribution=distribution,
        record_sets=record_sets,
    )
    return metadata.to_json()


def license_text(sources: list[str]) -> str:
    """LICENSE of a release under the sources' own terms (``--license other``)."""
    terms = "\n\n".join(
        f"{source}: {SOURCE_TERMS[source]}" for source in sources if source in SOURCE_TERMS
    )
    return (
        "This dataset is released under the terms of the sources its posts come from; the\n"
        "posts, texts and images remain the property of their authors. Those terms are:\n\n"
        f"{terms}\n\nThe ids, labels, ranks and splits were made with emofuse (MIT licence).\n"
    )


def release_time() -> dt.datetime:
    """When the release is made: now, or ``$SOURCE_DATE_EPOCH`` (the reproducible-builds
    convention), with which the same curated data gives the same release, byte for byte."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
        except ValueError as error:
            raise UserError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time", "e.g. SOURCE_DATE_EPOCH=0"
            ) from error
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _contains_any(path: Path, needles: list[bytes], chunk_size: int = 1 << 20) -> bool:
    """Whether any of ``needles`` occurs in the file, read in chunks (shards may be 500 MB):
    each chunk is searched together with the tail of the one before, so that a needle cut by
    a chunk boundary is still found."""
    keep = max(len(needle) for needle in needles) - 1
    tail = b""
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            window = tail + chunk
            if any(needle in window for needle in needles):
                return True
            tail = window[-keep:] if keep else b""
    return False


def _assert_no_salt(folder: Path, salts: list[bytes]) -> None:
    """Refuse a release in which the author-hash salt appears anywhere, in any file."""
    if not salts:
        return
    for path in folder.rglob("*"):
        if path.is_file():
            if _contains_any(path, salts):
                raise UserError(
                    "the author-hash salt appears in the release "
                    f"({path.relative_to(folder)}); nothing was published",
                    "check the curated data: the salt must never be in a post field",
                )


# -- the release --------------------------------------------------------------------------
def build_release(
    curated: Path,
    out: Path,
    *,
    fmt: str = "parquet",
    ids_only: bool = False,
    exclude: Path | None = None,
    force: bool = False,
    license_id: str = DEFAULT_LICENSE,
    name: str | None = None,
    data: Path | None = None,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    progress: Any = None,
) -> ReleaseSummary:
    """Write a release of the curated dataset at ``curated`` into ``out`` (atomically)."""
    # 1. every check before the first byte is written
    if fmt not in FORMATS:
        raise UserError(f"unknown --format {fmt!r}", f"choose one of {', '.join(FORMATS)}")
    out = Path(out).expanduser().resolve()
    release_time()  # a malformed $SOURCE_DATE_EPOCH is refused here, before any write
    check_out_dir(out, force)
    exclusions = read_exclusions(exclude) if exclude is not None else set()
    dataset = load_curated(Path(curated), data)
    posts, excluded, not_found = apply_exclusions(dataset.posts, exclusions)
    if posts.empty:
        raise UserError("no post left to release after the exclusions", "check the --exclude list")
    kind = "ids-only" if ids_only else fmt
    summary = ReleaseSummary(name=name or dataset.name, out=out, fmt=kind)
    summary.excluded, summary.exclusions_not_found = excluded, not_found
    summary.images = 0 if ids_only else check_images_on_disk(dataset, posts)
    summary.posts_with_image = int((posts["images"].map(len) > 0).sum())
    salts = known_salts(dataset.data)
    features = release_features(dataset.classes, kind)

    # 2. build in a temporary folder beside --out, rename at the end
    first_created = next(  # the outermost folder this release creates, removed on failure
        (p for p in reversed(out.parents) if not p.exists()), None
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    # a progress bar given unstarted starts only now: a refused release prints its one error
    # line and nothing else (a started bar leaves a blank line behind); a caller's running
    # bar (the demo's) is left running
    start_bar = progress is not None and not progress.live.is_started
    if start_bar:
        progress.start()
    try:
        (temp / "data").mkdir()
        data_files: dict[str, str] = {}
        total = len(posts)
        task = progress.add_task("release", total=total) if progress is not None else None

        def advance() -> None:
            if progress is not None:
                progress.advance(task)

        for split in SPLITS:
            split_posts = posts[posts["split"] == split].sort_values(
                ["label", "rank", "post_id"], ascending=[True, False, True]
            )
            if split_posts.empty:
                continue
            summary.counts[split] = {
                label: int((split_posts["label"] == label).sum()) for label in dataset.classes
            }
            if kind == "ids-only":
                name_ = f"data/{split}.csv"
                ids_only_frame(split_posts).to_csv(temp / name_, index=False)
                summary.files.append(name_)
                data_files[split] = name_
                for _ in range(len(split_posts)):
                    advance()
            elif kind == "parquet":
                summary.files += _write_parquet_split(
                    split_posts, split, dataset, features, temp, max_shard_bytes, advance
                )
                data_files[split] = f"data/{split}-*.parquet"
            else:
                files, left_out = _write_imagefolder_split(
                    split_posts, split, dataset, temp, advance
                )
                summary.counts[split] = {
                    label: int(
                        (
                            (split_posts["label"] == label) & (split_posts["images"].map(len) > 0)
                        ).sum()
                    )
                    for label in dataset.classes
                }
                summary.left_out_without_image += left_out
                summary.images -= int(split_posts["images"].map(len).sum()) - (
                    len(files) - 1  # the JPEGs written: one a post, metadata.csv aside
                )
                summary.files += files
                data_files[split] = f"data/{split}/*"

        checksums = {f: sha256_file(temp / f) for f in summary.files}
        split_bytes = {
            split: sum(
                (temp / f).stat().st_size for f in summary.files if f.startswith(f"data/{split}")
            )
            for split in summary.counts
        }
        card = dataset_card(dataset, summary, features, license_id, data_files, split_bytes)
        (temp / "README.md").write_text(card)
        if license_id == DEFAULT_LICENSE:
            (temp / "LICENSE").write_text(license_text(dataset.sources))
        croissant = croissant_metadata(summary, dataset, license_id, checksums)
        (temp / "croissant.json").write_text(json.dumps(croissant, indent=2, default=str))
        manifest = {
            "name": summary.name,
            "format": kind,
            "emofuse_version": __version__,
            "created_utc": release_time().isoformat(),
            "sources": dataset.sources,
            "classes": dataset.classes,
            "splits": {
                split: {
                    "num_rows": sum(per_class.values()),
                    "per_class": per_class,
                    "files": [f for f in summary.files if f.startswith(f"data/{split}")],
                }
                for split, per_class in summary.counts.items()
            },
            "excluded": summary.excluded,
            "rehydrate": REHYDRATE_COMMAND if kind == "ids-only" else None,
        }
        (temp / "release.json").write_text(json.dumps(manifest, indent=2))
        listed = sorted(str(p.relative_to(temp)) for p in temp.rglob("*") if p.is_file())
        sums = "".join(f"{checksums.get(f) or sha256_file(temp / f)}  {f}\n" for f in listed)
        (temp / "SHA256SUMS").write_text(sums)
        _assert_no_salt(temp, salts)
        summary.total_bytes = sum(p.stat().st_size for p in temp.rglob("*") if p.is_file())

        # 3. swap into place: the old release (with --force) is removed only after success
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
        temp.rename(out)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        if first_created is not None:
            shutil.rmtree(first_created, ignore_errors=True)
        raise
    finally:
        if start_bar:
            progress.stop()
    return summary
