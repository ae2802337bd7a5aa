"""How fast is ``emofuse release``, and does its memory stay flat as the dataset grows?

Builds a curated dataset of N Reddit-like posts with real JPEGs (drawn with Pillow, 320x240,
every fourth post a gallery of three), then, each in a fresh process so that peak memory
(ru_maxrss) is the format's own:

  baseline     read every image file and write it to another folder (the I/O floor: a
               release must at least read and write each image once)
  parquet      emofuse release (image bytes in Parquet shards)
  imagefolder  emofuse release --format imagefolder
  ids-only     emofuse release --ids-only

and prints wall times, their ratio to the baseline and peak memory against the total image
bytes. Parquet is written in row groups of 100 posts, so its memory should not follow the
size of the dataset.

    .venv/bin/python benchmarks/release.py                 # 4,000 posts
    .venv/bin/python benchmarks/release.py --posts 500     # a quick look
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FORMATS = ("baseline", "parquet", "imagefolder", "ids-only")


def build_curated(data: Path, posts: int) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_release_support import drawn_jpeg, store_image, write_curated

    from emofuse.schema import empty_post, post_text

    classes = ["joy", "fear", "anger", "disgust"]
    rows = []
    for n in range(posts):
        label = classes[n % 4]
        native = f"p{n:06d}"
        images = [
            store_image(data, "reddit", native, k, drawn_jpeg(n * 3 + k, size=(320, 240)))
            for k in range(3 if n % 4 == 1 else 1)
        ]
        title = f"{label} post number {n} with a few words"
        rows.append(
            empty_post(
                post_id=f"reddit:{native}",
                source="reddit",
                label=label,
                title=title,
                body="",
                text=post_text(title, ""),
                rank=float(n % 997),
                permalink=f"/r/{label}/comments/{native}/",
                community=label,
                author_hash=f"{n % 50:032x}",
                images=images,
            )
        )
    return write_curated(data, "bench", rows, classes)


def run_one(kind: str, curated: Path, out: Path) -> dict:
    """In this (fresh) process: one release or the copy baseline; wall time and peak RSS."""
    import pandas as pd

    start = time.perf_counter()
    if kind == "baseline":
        data = curated.parents[1]
        out.mkdir(parents=True)
        for n, images in enumerate(pd.read_parquet(curated / "posts.parquet")["images"]):
            for k, image in enumerate(images):
                (out / f"{n}_{k}.jpg").write_bytes((data / image["path"]).read_bytes())
    else:
        from emofuse.curation.release import build_release

        build_release(
            curated,
            out,
            fmt="imagefolder" if kind == "imagefolder" else "parquet",
            ids_only=kind == "ids-only",
        )
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes
    return {"kind": kind, "wall_s": wall, "peak_rss_bytes": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=4000)
    parser.add_argument("--one", choices=FORMATS, help=argparse.SUPPRESS)
    parser.add_argument("--curated", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.curated, args.out)))
        return

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        start = time.perf_counter()
        curated = build_curated(root / "data", args.posts)
        image_bytes = sum(p.stat().st_size for p in (root / "data" / "raw").rglob("*.jpg"))
        images = sum(1 for _ in (root / "data" / "raw").rglob("*.jpg"))
        print(
            f"built a curated dataset of {args.posts:,} posts, {images:,} JPEGs "
            f"({image_bytes / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s"
        )
        results = {}
        for kind in FORMATS:
            out = root / f"out-{kind}"
            command = [sys.executable, __file__, "--one", kind, "--curated", str(curated)]
            answer = subprocess.run(
                [*command, "--out", str(out)], capture_output=True, text=True, check=True
            )
            results[kind] = json.loads(answer.stdout.strip().splitlines()[-1])
            written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
            results[kind]["written_bytes"] = written
            shutil.rmtree(out)
        base = results["baseline"]["wall_s"]
        print(f"{'':12} {'wall':>8} {'vs copy':>8} {'peak RSS':>10} {'written':>10}")
        for kind, result in results.items():
            print(
                f"{kind:12} {result['wall_s']:7.2f}s {result['wall_s'] / base:7.2f}x "
                f"{result['peak_rss_bytes'] / 1e6:8.0f}MB {result['written_bytes'] / 1e6:8.1f}MB"
            )


if __name__ == "__main__":
    main()
