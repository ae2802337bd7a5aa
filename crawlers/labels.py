"""Label files for ``emofuse crawl flickr --labels FILE``: which photos to fetch, with their labels.

Two formats are read, and everything is checked before any request is made:

``table`` (CSV or TSV, separator from the extension or the header line)
    One row per photo: a photo id *or* a Flickr URL (photo page, flic.kr short link or static
    image URL), the emotion label, the agreeing votes and the total votes. Column names are
    configurable (:class:`LabelColumns`); by default the first present of a few usual names is
    taken (``id``/``photo_id``/``url``, ``label``/``emotion``, ``votes_agree``/``agree``,
    ``votes_total``/``total``). Labels must be classes of ``classes`` (default: the paper's 8
    Flickr classes, :data:`emofuse.schema.FLICKR_CLASSES`).

``emotion6`` (Cornell Emotion6 ``ground_truth.txt``)
    Tab-separated, header ``[image_filename] [valence] [arousal] [prob. anger] ...``: vote
    fractions over 7 classes from 15 raters. The label is the majority class (a tie goes to the
    first class in the file's column order), ``votes_agree = max fraction x 15`` rounded half up,
    ``votes_total = 15``. The id is the image file name without extension, ``/`` replaced by
    ``_``: ``12345678.jpg`` is Flickr photo 12345678; Emotion6's own ``disgust/1.jpg`` becomes
    ``disgust_1``, which is not a Flickr id: Emotion6 does not publish them, so its votes can
    be read (:func:`not_flickr_ids` lists such rows, and the crawler refuses them).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from emofuse.errors import UserError
from emofuse.schema import FLICKR_CLASSES

EMOTION6_CLASSES = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
EMOTION6_RATERS = 15

# Column names tried, in order, when the user does not name a column.
DEFAULT_ID_COLUMNS = ("id", "photo_id", "flickr_id", "url", "photo_url")
DEFAULT_LABEL_COLUMNS = ("label", "emotion", "class")
DEFAULT_AGREE_COLUMNS = ("votes_agree", "agree", "agreeing_votes", "votes")
DEFAULT_TOTAL_COLUMNS = ("votes_total", "total", "total_votes")

_FLICKR_PAGE = re.compile(r"flickr\.com/photos/[^/]+/(\d+)")
_FLICKR_SHORT = re.compile(r"flic\.kr/p/([1-9a-km-zA-HJ-NP-Z]+)")
_FLICKR_STATIC = re.compile(r"staticflickr\.com/(?:\d+/)+(\d+)_[0-9a-f]+")
_BASE58 = "123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class LabelColumns:
    """Column names of a label table; ``None`` means: try the usual names."""

    id: str | None = None
    label: str | None = None
    agree: str | None = None
    total: str | None = None


@dataclass(frozen=True)
class LabelRow:
    photo_id: str  # Flickr photo id (digits), or an Emotion6 image name
    label: str
    votes_agree: int | None
    votes_total: int | None


@dataclass
class LabelFile:
    path: Path
    format: str  # "table" or "emotion6"
    classes: list[str]
    rows: list[LabelRow]
    duplicates: int = 0  # rows repeating an earlier (id, label): dropped
    by_label: Counter = field(default_factory=Counter)


def photo_id_from(value: str) -> str | None:
    """The Flickr photo id in a bare id, a photo page URL, a flic.kr link or a static URL."""
    value = value.strip()
    if value.isdigit():
        return value
    for pattern in (_FLICKR_PAGE, _FLICKR_STATIC):
        match = pattern.search(value)
        if match:
            return match.group(1)
    match = _FLICKR_SHORT.search(value)
    if match:  # flic.kr short links are the photo id in Flickr's base58
        number = 0
        for char in match.group(1):
            number = number * 58 + _BASE58.index(char)
        return str(number)
    return None


def not_flickr_ids(label_file: LabelFile) -> list[str]:
    """Ids of the file that are not Flickr photo ids (e.g. Emotion6 image names)."""
    return [row.photo_id for row in label_file.rows if not row.photo_id.isdigit()]


def read_labels(
    path: str | Path,
    columns: LabelColumns | None = None,
    classes: list[str] | None = None,
) -> LabelFile:
    """Read and check a label file. Raises :class:`UserError` naming the first problem."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(
            f"label file not found: {path}",
            "pass --labels a CSV/TSV (id, label, agreeing votes, total votes) or an Emotion6 "
            "ground_truth.txt",
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(f"{path} is not UTF-8 text ({error})", "save it as UTF-8 CSV") from error
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise UserError(f"{path} is empty", "a label file starts with a header line")
    if lines[0].lstrip().startswith("[image_filename]"):
        label_file = _read_emotion6(path, lines, classes or EMOTION6_CLASSES)
    else:
        label_file = _read_table(path, lines, columns or LabelColumns(), classes or FLICKR_CLASSES)
    if not label_file.rows:
        raise UserError(f"{path} has a header but no rows", "add one row per photo")
    label_file.by_label.update(row.label for row in label_file.rows)
    return label_file


def _pick(
    header: list[str], wanted: str | None, defaults: tuple[str, ...], what: str, path: Path
) -> str:
    if wanted is not None:
        if wanted not in header:
            raise UserError(
                f"{path.name} has no column {wanted!r} ({what}); its columns are "
                + ", ".join(header),
                f"name the {what} column with --{what}-column",
            )
        return wanted
    for name in defaults:
        if name in header:
            return name
    raise UserError(
        f"{path.name} has no {what} column (looked for {', '.join(defaults)}); its columns are "
        + ", ".join(header),
        f"name it with --{what}-column",
    )


def _read_table(path: Path, lines: list[str], columns: LabelColumns, classes: list[str]):
    delimiter = "\t" if path.suffix == ".tsv" or "\t" in lines[0] else ","
    reader = csv.reader(lines, delimiter=delimiter)
    header = [name.strip() for name in next(reader)]
    id_col = _pick(header, columns.id, DEFAULT_ID_COLUMNS, "id", path)
    label_col = _pick(header, columns.label, DEFAULT_LABEL_COLUMNS, "label", path)
    agree_col = _pick(header, columns.agree, DEFAULT_AGREE_COLUMNS, "agree", path)
    total_col = _pick(header, columns.total, DEFAULT_TOTAL_COLUMNS, "total", path)
    index = {name: i for i, name in enumerate(header)}
    known = {name.lower(): name for name in classes}

    rows: dict[str, LabelRow] = {}
    duplicates = 0
    for line_no, values in enumerate(reader, start=2):
        if not values or not any(v.strip() for v in values):
            continue
        if len(values) < len(header):
            values = values + [""] * (len(header) - len(values))
        raw_id = values[index[id_col]].strip()
        photo_id = photo_id_from(raw_id)
        if photo_id is None:
            raise UserError(
                f"{path.name} line {line_no}: {raw_id!r} is not a Flickr photo id or URL",
                "use the numeric id or https://www.flickr.com/photos/<user>/<id>/",
            )
        raw_label = values[index[label_col]].strip()
        label = known.get(raw_label.lower())
        if label is None:
            raise UserError(
                f"{path.name} line {line_no}: unknown label {raw_label!r}; known labels: "
                + ", ".join(classes),
                "fix the label or pass --classes with your class names",
            )
        agree = _votes(values[index[agree_col]], path, line_no, agree_col)
        total = _votes(values[index[total_col]], path, line_no, total_col)
        if agree is not None and total is not None and agree > total:
            raise UserError(
                f"{path.name} line {line_no}: {agree} agreeing votes out of {total}",
                "agreeing votes cannot exceed the total",
            )
        row = LabelRow(photo_id, label, agree, total)
        previous = rows.get(photo_id)
        if previous is not None:
            if previous.label != label:
                raise UserError(
                    f"{path.name} line {line_no}: photo {photo_id} is labelled both "
                    f"{previous.label} and {label}",
                    "keep one row per photo",
                )
            duplicates += 1
            continue
        rows[photo_id] = row
    return LabelFile(path, "table", list(classes), list(rows.values()), duplicates)


def _votes(value: str, path: Path, line_no: int, column: str) -> int | None:
    value = value.strip()
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number < 0 or not number.is_integer():
        raise UserError(
            f"{path.name} line {line_no}: {column} = {value!r} is not a vote count",
            "votes are whole numbers >= 0",
        )
    return int(number)


def _read_emotion6(path: Path, lines: list[str], classes: list[str]) -> LabelFile:
    header = [name.strip() for name in lines[0].split("\t")]
    prob_columns = [
        (i, name[len("[prob. ") : -1])
        for i, name in enumerate(header)
        if name.startswith("[prob. ")
    ]
    file_classes = [name for _, name in prob_columns]
    if not prob_columns:
        raise UserError(
            f"{path.name} looks like Emotion6 but has no [prob. <class>] columns",
            "pass the ground_truth.txt shipped with Emotion6",
        )
    unknown = [name for name in file_classes if name not in classes]
    if unknown:
        raise UserError(
            f"{path.name}: unknown label(s) {', '.join(unknown)}; known labels: "
            + ", ".join(classes),
            "pass --classes with your class names",
        )
    rows: list[LabelRow] = []
    for line_no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        values = line.split("\t")
        try:
            fractions = [float(values[i]) for i, _ in prob_columns]
        except (ValueError, IndexError) as error:
            raise UserError(
                f"{path.name} line {line_no}: vote fractions are not numbers ({error})",
                "check the file is the unmodified ground_truth.txt",
            ) from error
        best = max(range(len(fractions)), key=lambda k: (fractions[k], -k))
        image = values[0].strip()
        # "12345.jpg" names Flickr photo 12345; Emotion6's own "disgust/1.jpg" names a file
        # of its image folders: it keeps its path ("disgust_1") and cannot be crawled
        photo_id = image.rsplit(".", 1)[0].replace("/", "_")
        # rounded half up (Python's round() would send 10.5 to 10): 0.7 of 15 raters -> 11
        agree = int(fractions[best] * EMOTION6_RATERS + 0.5)
        rows.append(LabelRow(photo_id, file_classes[best], agree, EMOTION6_RATERS))
    return LabelFile(path, "emotion6", file_classes, rows)
