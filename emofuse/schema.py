"""The data contract of DESIGN.md: the post record, the emotion classes, schema versions."""

import html
import re
from typing import Any, TypedDict

# Bumped whenever the store or curated layout changes incompatibly. Readers refuse newer versions.
STORE_SCHEMA_VERSION = 1
CURATED_SCHEMA_VERSION = 1

REDDIT_DEFAULT_SUBREDDITS: dict[str, str] = {
    "happy": "joy",
    "creepy": "fear",
    "rage": "anger",
    "gore": "disgust",
}
REDDIT_CLASSES = ["joy", "fear", "anger", "disgust"]
FLICKR_CLASSES = [
    "amusement",
    "anger",
    "awe",
    "contentment",
    "disgust",
    "excitement",
    "fear",
    "sadness",
]
SPLITS = ["train", "validation", "test"]


class ImageRecord(TypedDict):
    path: str  # relative to the data directory, e.g. raw/reddit/images/abc123/0.jpg
    sha256: str
    phash: str  # hex string of imagehash.phash (64 bits)
    width: int
    height: int
    source_url: str


# Columns of a curated posts.parquet, in order. `images` is a list of ImageRecord structs.
POST_COLUMNS = [
    "post_id",
    "source",
    "label",
    "title",
    "body",
    "text",
    "rank",
    "votes_agree",
    "votes_total",
    "created_utc",
    "permalink",
    "url",
    "community",
    "author_hash",
    "images",
]
CURATED_COLUMNS = POST_COLUMNS + ["split"]

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def strip_html(value: str | None) -> str:
    """Plain text from an HTML fragment (Flickr descriptions): tags removed, entities decoded."""
    if not value:
        return ""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", value))).strip()


def post_text(title: str | None, body: str | None) -> str:
    """The text the models read: title, then body, as plain text."""
    parts = [strip_html(title), strip_html(body)]
    return " ".join(p for p in parts if p)


def make_post_id(source: str, native_id: str) -> str:
    return f"{source}:{native_id}"


def empty_post(**fields: Any) -> dict[str, Any]:
    """A post dict with every contract field present (None where unknown)."""
    post: dict[str, Any] = {name: None for name in POST_COLUMNS}
    post["images"] = []
    post.update(fields)
    return post
