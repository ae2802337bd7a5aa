"""Flickr photos of the sandbox world: what ``flickr.photos.getInfo``/``getSizes`` answer.

``add_flickr_photos(world, ...)`` fills ``world.flickr_photos`` (photo id -> record) and
registers the static images on ``live.staticflickr.com`` in ``world.images``, so that the image
host of the sandbox serves them. Records follow the real responses recorded in
``../shared/data/recorded-api/flickr/`` (ids, secrets, server/farm, owner with nsid and
path_alias, HTML descriptions, tags, dates, license, the photopage URL, the size ladder with
its suffixes, and a different secret for the largest sizes).

Each photo has a ``case`` saying what a correct crawler makes of it (``expected_outcome``):

  ok             public; the Medium (500 px) static URL built from getInfo is served
  small          public, original smaller than 500 px: the Medium URL is missing, getSizes
                 lists only smaller sizes and the crawler takes the largest
  large_only     public; the Medium URL is missing but getSizes lists ``Medium 640`` (the
                 crawler must ask getSizes to find an image >= 500 px)
  image_missing  public, but every static URL answers 404 (the image host lost the file)
  deleted        error code 1 ("Photo not found")
  private        error code 1 too: Flickr does not say which
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

from emofuse.crawlers.sandbox import content
from emofuse.schema import FLICKR_CLASSES

FLICKR_API_HOST = "api.flickr.com"
FLICKR_STATIC_HOST = "live.staticflickr.com"
FLICKR_WEB = "https://www.flickr.com"
# The key and secret the sandbox accepts. Not secrets: they only open the local sandbox.
SANDBOX_FLICKR_KEY = "0123456789abcdef0123456789abcdef"
SANDBOX_FLICKR_SECRET = "fedcba9876543210"
WORLD_NOW = 1_760_000_000  # same "now" as the Reddit world

# Flickr's size ladder: (label, URL suffix, longest side); None = the original.
SIZE_LADDER: list[tuple[str, str, int | None]] = [
    ("Square", "_s", 75),
    ("Large Square", "_q", 150),
    ("Thumbnail", "_t", 100),
    ("Small", "_m", 240),
    ("Small 320", "_n", 320),
    ("Small 400", "_w", 400),
    ("Medium", "", 500),
    ("Medium 640", "_z", 640),
    ("Medium 800", "_c", 800),
    ("Large", "_b", 1024),
    ("Original", "_o", None),
]
SQUARE_SIZES = {"Square": 75, "Large Square": 150}
CASE_WEIGHTS: dict[str, float] = {
    "ok": 12,
    "small": 1,
    "large_only": 1,
    "image_missing": 1,
    "deleted": 1,
    "private": 1,
}
LICENSES = ["0", "1", "2", "4", "5", "7", "8", "9", "10"]

_WORDS: dict[str, list[str]] = {
    "amusement": ["funny", "laughing", "silly", "playful", "clown", "joke", "giggles"],
    "anger": ["angry", "furious", "shouting", "protest", "rage", "clenched", "storm"],
    "awe": ["majestic", "vast", "towering", "stunning", "cathedral", "galaxy", "canyon"],
    "contentment": ["calm", "peaceful", "cozy", "relaxing", "quiet", "garden", "afternoon"],
    "disgust": ["rotten", "filthy", "garbage", "mold", "slimy", "gross", "decay"],
    "excitement": ["thrilling", "race", "fireworks", "concert", "jumping", "cheering", "rush"],
    "fear": ["dark", "creepy", "haunted", "shadow", "lonely", "fog", "abandoned"],
    "sadness": ["lonely", "rain", "grief", "empty", "tears", "grey", "farewell"],
}
_FILLER = ["the", "a", "at", "in", "with", "our", "old", "near", "this", "morning", "day", "view"]
_PLACES = ["the lake", "Lisbon", "the harbour", "grandma's house", "the old mill", "Zermatt"]


def make_title(label: str, rng: random.Random) -> str:
    # content.make_text carries the emotion signal, noisily (see content.py)
    return content.make_text(label, rng)


def make_description(label: str, rng: random.Random, title: str) -> str:
    """An HTML description as Flickr stores it: markup, entities, sometimes a link."""
    sentence = content.make_description(label, rng)
    place = rng.choice(_PLACES).replace("'", "&#039;")
    html = f"{sentence.capitalize()} &amp; more, taken near {place}."
    if rng.random() < 0.5:
        html = f"<b>{title}</b>: " + html
    if rng.random() < 0.3:
        html += f' See <a href="{FLICKR_WEB}/groups/emotions/" rel="nofollow">the group</a>.'
    return html


def add_flickr_photos(
    world: Any,
    count: int = 40,
    seed: int | None = None,
    classes: list[str] | None = None,
    cases: dict[str, float] | None = None,
    owners: int = 8,
) -> list[str]:
    """Add ``count`` Flickr photos to ``world``; returns their ids (in creation order).

    The first photos walk through every case once, so that small worlds have them all.
    Deterministic given ``seed`` (default: the world's seed).
    """
    rng = random.Random(f"flickr-{world.seed if seed is None else seed}")
    classes = classes or FLICKR_CLASSES
    weights = cases or CASE_WEIGHTS
    case_names = list(weights)
    people = [_make_owner(index, rng) for index in range(owners)]
    start = 50_000_000_000 + len(world.flickr_photos) * 1_000 + rng.randrange(1_000)
    ids = []
    for index in range(count):
        if index < len(case_names):
            case = case_names[index]
        else:
            case = rng.choices(case_names, [weights[c] for c in case_names])[0]
        label = classes[index % len(classes)]
        photo_id = str(start + index * 7_919)
        record = _make_photo(photo_id, label, case, rng.choice(people), rng)
        world.flickr_photos[photo_id] = record
        _register_images(world, record)
        ids.append(photo_id)
    return ids


def _make_owner(index: int, rng: random.Random) -> dict[str, Any]:
    nsid = f"{rng.randrange(10_000_000, 200_000_000)}@N0{rng.randrange(1, 9)}"
    alias = f"photographer_{index}" if index % 2 == 0 else None
    return {
        "nsid": nsid,
        "username": f"Photographer {index}",
        "realname": f"Real Name {index}",
        "location": rng.choice(["", "Canada", "Lisbon, Portugal"]),
        "iconserver": "65535",
        "iconfarm": 66,
        "path_alias": alias,
    }


def _make_photo(
    photo_id: str, label: str, case: str, owner: dict[str, Any], rng: random.Random
) -> dict[str, Any]:
    landscape = rng.random() < 0.7
    if case == "small":
        size = (400, 300) if landscape else (300, 400)
    else:
        size = (1024, 768) if landscape else (768, 1024)
    title = make_title(label, rng)
    posted = WORLD_NOW - rng.randrange(0, 8 * 365 * 86400)
    taken = posted - rng.randrange(0, 30 * 86400)
    agree_total = rng.choice([3, 5, 5, 5])
    record = {
        "id": photo_id,
        "label": label,
        "case": case,
        "state": case if case in ("deleted", "private") else "public",
        "secret": f"{rng.getrandbits(40):010x}",
        "originalsecret": f"{rng.getrandbits(40):010x}",
        "largesecret": f"{rng.getrandbits(40):010x}",
        "server": str(rng.choice([2903, 4005, 65535])),
        "farm": rng.choice([3, 5, 66]),
        "dateuploaded": str(posted),
        "taken": _date(taken),
        "lastupdate": str(posted + rng.randrange(0, 86400 * 100)),
        "license": rng.choice(LICENSES),
        "views": str(rng.randrange(10, 50_000)),
        "owner": owner,
        "title": title,
        "description": make_description(label, rng, title),
        "tags": sorted(
            {rng.choice(_WORDS[label] if label in _WORDS else _FILLER) for _ in range(4)}
        ),
        "size": size,
        "seed": rng.getrandbits(32),
        "votes_total": agree_total,
        "votes_agree": rng.randint(agree_total // 2 + 1, agree_total),
    }
    return record


def _date(epoch: int) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def photopage(record: dict[str, Any]) -> str:
    owner = record["owner"]
    return f"{FLICKR_WEB}/photos/{owner['path_alias'] or owner['nsid']}/{record['id']}/"


def static_url(record: dict[str, Any], suffix: str) -> str:
    """``https://live.staticflickr.com/<server>/<id>_<secret><suffix>.jpg``."""
    if suffix == "_o":
        secret = record["originalsecret"]
    elif suffix in ("_h", "_k"):
        secret = record["largesecret"]
    else:
        secret = record["secret"]
    return f"https://{FLICKR_STATIC_HOST}/{record['server']}/{record['id']}_{secret}{suffix}.jpg"


def sizes(record: dict[str, Any]) -> list[dict[str, Any]]:
    """What getSizes lists for a photo: every size of the ladder up to the original."""
    width, height = record["size"]
    longest = max(width, height)
    listed = []
    for label, suffix, side in SIZE_LADDER:
        if label in SQUARE_SIZES:
            w = h = SQUARE_SIZES[label]
        elif side is None:
            w, h = width, height
        elif side >= longest:
            continue  # Flickr lists no size at or above the original but the original
        else:
            w, h = _scaled(width, height, side)
        if record["case"] == "large_only" and label == "Medium":
            continue
        size_code = suffix.strip("_") or "m"
        listed.append(
            {
                "label": label,
                "width": w,
                "height": h,
                "source": static_url(record, suffix),
                "url": f"{photopage(record)}sizes/{size_code}/",
                "media": "photo",
            }
        )
    return listed


def _scaled(width: int, height: int, side: int) -> tuple[int, int]:
    if width >= height:
        return side, max(1, round(height * side / width))
    return max(1, round(width * side / height)), side


def _register_images(world: Any, record: dict[str, Any]) -> None:
    """Serve the static images of a photo on live.staticflickr.com (rendered on request)."""
    from urllib.parse import urlsplit

    from emofuse.crawlers.sandbox.world import ImageSpec

    if record["state"] != "public" or record["case"] == "image_missing":
        return
    for index, size in enumerate(sizes(record)):
        # Only sizes a crawler may take are served: the small thumbnails are not needed
        if max(size["width"], size["height"]) < 240:
            continue
        path = urlsplit(size["source"]).path
        world.images[(FLICKR_STATIC_HOST, path)] = ImageSpec(
            record["label"], "jpeg", record["seed"] + index, (size["width"], size["height"])
        )


def expected_outcome(record: dict[str, Any]) -> dict[str, Any]:
    """What a correct crawler stores for a photo: status, reason, image long side."""
    case = record["case"]
    if case in ("deleted", "private"):
        return {"status": "gone", "reason": "flickr_error_1", "long_side": None}
    if case == "image_missing":
        return {"status": "gone", "reason": "http_404", "long_side": None}
    if case == "small":
        return {"status": "ok", "reason": None, "long_side": max(record["size"])}
    if case == "large_only":
        return {"status": "ok", "reason": None, "long_side": 640}
    return {"status": "ok", "reason": None, "long_side": 500}


def write_label_file(world: Any, path: str | Path, photo_ids: list[str] | None = None) -> Path:
    """A label file (CSV: id, label, votes_agree, votes_total) for photos of the world."""
    path = Path(path)
    lines = ["id,label,votes_agree,votes_total"]
    for photo_id in photo_ids or list(world.flickr_photos):
        record = world.flickr_photos[photo_id]
        lines.append(
            f"{photo_id},{record['label']},{record['votes_agree']},{record['votes_total']}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def case_counts(world: Any) -> Counter:
    return Counter(record["case"] for record in world.flickr_photos.values())


def flickr_settings_text(sandbox_url: str, labels: Path) -> str:
    """The exports and command that point `emofuse crawl flickr` at a running sandbox."""
    return "\n".join(
        [
            "# point `emofuse crawl flickr` at it (sandbox-only key and secret):",
            f"export FLICKR_API_KEY={SANDBOX_FLICKR_KEY}",
            f"export FLICKR_API_SECRET={SANDBOX_FLICKR_SECRET}",
            f"emofuse crawl flickr --labels {labels} --sandbox {sandbox_url}",
        ]
    )
