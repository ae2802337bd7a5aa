"""A small curated dataset, written as `emofuse curate --split` writes one (docs/contracts.md).

Real JPEG files whose colours depend on the emotion, and titles whose words do, with noise so
that no model is perfect; some posts without an image. Used by tests/test_benchmark*.py.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import imagehash
import numpy as np
import pandas as pd
from PIL import Image

from emofuse.schema import CURATED_COLUMNS, CURATED_SCHEMA_VERSION, REDDIT_CLASSES

CLASS_COLOURS = {
    "joy": (230, 200, 60),
    "fear": (40, 40, 60),
    "anger": (200, 40, 30),
    "disgust": (90, 140, 50),
}
CLASS_WORDS = {
    "joy": ["happy", "smile", "love", "puppy", "wedding", "finally"],
    "fear": ["creepy", "dark", "night", "ghost", "abandoned", "doll"],
    "anger": ["angry", "rage", "hate", "stupid", "neighbour", "parking"],
    "disgust": ["gross", "blood", "wound", "rotten", "infected", "maggots"],
}
FILLER = ["the", "my", "this", "today", "found", "look", "at", "so", "what", "a", "in", "of"]


def _jpeg(colour: tuple[int, int, int], rng: np.random.Generator) -> bytes:
    base = np.array(colour, dtype=np.float64)
    pixels = base + rng.normal(0, 45, size=(48, 48, 3))
    # a random bright or dark block, so images of a class are not all alike
    y, x = rng.integers(0, 32, 2)
    pixels[y : y + 16, x : x + 16] += rng.choice([-80, 80])
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def make_curated(
    data_dir: Path,
    name: str = "reddit",
    per_class: int = 50,
    with_images: bool = True,
    missing_image_every: int = 10,
    seed: int = 0,
) -> Path:
    """Write ``<data>/curated/<name>/`` (posts.parquet, dataset.json) and its JPEGs.

    ``per_class`` posts per emotion, split per class by rank: top 10% test, next 10%
    validation. Every ``missing_image_every``-th post has no image (0: none missing);
    ``with_images=False`` writes a text-only dataset like the paper's real Reddit release.
    """
    rng = np.random.default_rng(seed)
    curated = data_dir / "curated" / name
    curated.mkdir(parents=True, exist_ok=True)
    rows = []
    for label in REDDIT_CLASSES:
        n_test = n_val = per_class // 10
        for i in range(per_class):
            native = f"{label[:2]}{i:04d}"
            # 30% of titles use another class's words: text alone is not enough
            word_class = label if rng.random() > 0.3 else rng.choice(REDDIT_CLASSES)
            words = list(rng.choice(CLASS_WORDS[word_class], 2)) + list(rng.choice(FILLER, 4))
            rng.shuffle(words)
            title = " ".join(words)
            images = []
            missing = missing_image_every and i % missing_image_every == 3
            if with_images and not missing:
                colour_class = label if rng.random() > 0.3 else rng.choice(REDDIT_CLASSES)
                data = _jpeg(CLASS_COLOURS[colour_class], rng)
                relative = f"raw/reddit/images/{native}/0.jpg"
                (data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
                (data_dir / relative).write_bytes(data)
                with Image.open(io.BytesIO(data)) as opened:
                    phash = str(imagehash.phash(opened))
                images.append(
                    {
                        "path": relative,
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "phash": phash,
                        "width": 48,
                        "height": 48,
                        "source_url": f"https://i.example.org/{native}.jpg",
                    }
                )
            split = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
            rows.append(
                {
                    "post_id": f"reddit:{native}",
                    "source": "reddit",
                    "label": label,
                    "title": title,
                    "body": "",
                    "text": title,
                    "rank": float(per_class - i),
                    "votes_agree": None,
                    "votes_total": None,
                    "created_utc": 1.5e9 + i,
                    "permalink": f"/r/x/comments/{native}/",
                    "url": f"https://i.example.org/{native}.jpg",
                    "community": "x",
                    "author_hash": f"h{i}",
                    "images": images,
                    "split": split,
                }
            )
    frame = pd.DataFrame(rows, columns=CURATED_COLUMNS)
    frame.to_parquet(curated / "posts.parquet", index=False)
    manifest = {
        "name": name,
        "schema_version": CURATED_SCHEMA_VERSION,
        "sources": [{"store": "raw/reddit/crawl.sqlite", "source": ["reddit"], "posts": len(rows)}],
        "classes": list(REDDIT_CLASSES),
        "data_dir": str(data_dir),
        "created_by": "tests/benchmark_data.py",
        "options": {},
    }
    (curated / "dataset.json").write_text(json.dumps(manifest, indent=2))
    return curated


def cli_exit_code(*args: str) -> int:
    """Run ``emofuse ARGS`` in this process: 0, or the code it exits with."""
    from emofuse.cli import main

    try:
        main(list(args))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0
