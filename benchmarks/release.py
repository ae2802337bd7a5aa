"""How fast is ``emofuse release``, and does its memory stay flat as the dataset grows?

Builds a curated dataset of N Reddit-like posts with real JPEGs (drawn with Pillow, 320x240,
every fourth post a gallery of three, one text-only post), then runs, each in a fresh process
so that the peak memory (ru_maxrss) is its own, best wall time of --repeat runs:

  copy-files   read every image file and write it to another folder, one file each (the I/O
               floor of ImageFolder, which writes one file per post)
  copy-one     read every image file and append its bytes to one file (the I/O floor of
               Parquet, which writes a few shards)
  parquet      emofuse release (image bytes in Parquet shards)
  imagefolder  emofuse release --format imagefolder
  ids-only     emofuse release --ids-only

and prints wall times, each format's ratio to its floor (Parquet to copy-one, ImageFolder to
copy-files), and the peak memory.

    .venv/bin/python benchmarks/release.py                 # 4,000 posts, best of 3
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

FORMATS = ("copy-files", "copy-one", "parquet", "imagefolder", "ids-only")
FLOORS = {"parquet": "copy-one", "imagefolder": "copy-files"}  # what each format must at least do


def build_curated(data: Path, posts: int) -> Path:
    """The tests' Reddit-like curated dataset (tests/test_release_support.py), larger images."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_release_support import make_drawn_curated

    return make_drawn_curated(data, name="bench", per_class=posts // 4, image_size=(320, 240))


def run_one(kind: str, curated: Path, out: Path) -> dict:
    """In this (fresh) process: one release or a copy baseline; wall time and peak RSS."""
    import pandas as pd

    start = time.perf_counter()
    if kind.startswith("copy"):
        data = curated.parents[1]
        out.mkdir(parents=True)
        posts = pd.read_parquet(curated / "posts.parquet")
        paths = [data / image["path"] for images in posts["images"] for image in images]
        if kind == "copy-files":
            for n, path in enumerate(paths):
                (out / f"{n}.jpg").write_bytes(path.read_bytes())
        else:
            with open(out / "images.bin", "wb") as handle:
                for path in paths:
                    handle.write(path.read_bytes())
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
    parser.add_argument("--repeat", type=int, default=3, help="runs per format (best is shown)")
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
        for _ in range(args.repeat):
            for kind in FORMATS:  # interleaved: a burst of load on the machine hits them all
                out = root / f"out-{kind}"
                command = [sys.executable, __file__, "--one", kind, "--curated", str(curated)]
                answer = subprocess.run(
                    [*command, "--out", str(out)], capture_output=True, text=True, check=True
                )
                result = json.loads(answer.stdout.strip().splitlines()[-1])
                result["written_bytes"] = sum(
                    p.stat().st_size for p in out.rglob("*") if p.is_file()
                )
                shutil.rmtree(out)
                if kind not in results or result["wall_s"] < results[kind]["wall_s"]:
                    results[kind] = result
        print(f"{'':12} {'wall':>8} {'vs floor':>9} {'peak RSS':>10} {'written':>10}")
        for kind, result in results.items():
            floor = FLOORS.get(kind)
            ratio = f"{result['wall_s'] / results[floor]['wall_s']:8.2f}x" if floor else " " * 9
            print(
                f"{kind:12} {result['wall_s']:7.2f}s {ratio} "
                f"{result['peak_rss_bytes'] / 1e6:8.0f}MB {result['written_bytes'] / 1e6:8.1f}MB"
            )


if __name__ == "__main__":
    main()
