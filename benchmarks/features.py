"""Image feature throughput: images/second of each extractor against decode-only.

Measures, on the same real JPEGs in the same run:

- decode only (baseline): Pillow opens and fully decodes each JPEG to RGB, nothing else;
- decode with draft: what the extractors do (libjpeg DCT downscaling to about the size needed);
- ``color_stats``: decode + the 51 statistics, in the main process and with DataLoader workers;
  then the whole ``extract_image_features`` twice, the second run answered by the cache;
- ``inception_v3``: decode + resize/crop + the CNN forward, randomly initialised weights (the
  speed does not depend on their values), on the CPU, and on CUDA when a GPU is visible
  (channels_last + bf16 autocast).

Usage:
    .venv/bin/python benchmarks/features.py [--images DIR] [--limit N] [--inception-limit N]

``--images`` defaults to ../shared/data/emotion6/images (real Flickr JPEGs). Prints a table of
images/second and the ratio to decode-only. Results go in docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from emofuse.benchmark.features import (
    ColorStats,
    InceptionV3,
    compute_vectors,
    extract_image_features,
    open_rgb,
)

DEFAULT_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "emotion6" / "images"


def decode_only(paths: list[Path]) -> None:
    for path in paths:
        with Image.open(path) as image:
            image.convert("RGB").load()


def decode_draft(paths: list[Path], size: int) -> None:
    for path in paths:
        open_rgb(path, size).load()


def rate(label: str, count: int, run) -> tuple[str, float]:
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    print(f"  {label}: {count} images in {seconds:.2f} s", flush=True)
    return label, count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--limit", type=int, default=240, help="images for decode/color_stats")
    parser.add_argument("--inception-limit", type=int, default=48, help="images for the CNN")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    paths = sorted(args.images.rglob("*.jpg"))[: args.limit]
    if not paths:
        raise SystemExit(f"no JPEGs under {args.images}")
    cnn_paths = paths[: args.inception_limit]
    workers = max(1, min(8, (os.cpu_count() or 1) - 1))
    print(
        f"{len(paths)} JPEGs from {args.images}; torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
        f"loadavg {os.getloadavg()[0]:.1f}"
    )

    decode_once = rate("warm-up decode", len(paths), lambda: decode_only(paths))  # page cache
    del decode_once
    results: list[tuple[str, float]] = [
        rate("decode only (baseline)", len(paths), lambda: decode_only(paths)),
        rate("decode with draft to 160 px", len(paths), lambda: decode_draft(paths, 160)),
        rate("decode with draft to 342 px", len(paths), lambda: decode_draft(paths, 342)),
    ]
    colour = ColorStats()
    for count in (0, workers):
        label = f"color_stats, {count} DataLoader workers"
        results.append(
            rate(
                label,
                len(paths),
                lambda c=count: compute_vectors(colour, paths, batch_size=64, num_workers=c),
            )
        )

    # the whole entry point, twice: the second run must come from the sha256 cache
    posts = pd.DataFrame(
        {
            "post_id": [str(i) for i in range(len(paths))],
            "images": [
                [
                    {
                        "path": str(path.relative_to(args.images)),
                        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                    }
                ]
                for path in paths
            ],
        }
    )
    with tempfile.TemporaryDirectory() as cache:
        for label in ("first run", "rerun from the cache"):
            results.append(
                rate(
                    f"extract_image_features color_stats, {label}",
                    len(paths),
                    lambda: extract_image_features(
                        posts,
                        args.images,
                        "color_stats",
                        cache_dir=Path(cache),
                        show_progress=False,
                    ),
                )
            )

    with tempfile.TemporaryDirectory() as folder:
        weights = Path(folder) / "inception_random.pth"
        torch.manual_seed(0)
        import torchvision

        model = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
        torch.save(model.state_dict(), weights)
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for device in devices:
            extractor = InceptionV3(weights=weights, device=device)
            extractor.prepare()
            warm = cnn_paths[: args.batch_size]
            compute_vectors(extractor, warm, batch_size=args.batch_size, num_workers=0)
            label = f"inception_v3 on {device}, batch {args.batch_size}, {workers} workers"
            results.append(
                rate(
                    label,
                    len(cnn_paths),
                    lambda e=extractor: compute_vectors(
                        e, cnn_paths, batch_size=args.batch_size, num_workers=workers
                    ),
                )
            )

    baseline = results[0][1]
    print()
    print("| what | images/s | ratio to decode-only |")
    print("|---|---:|---:|")
    for label, per_second in results:
        print(f"| {label} | {per_second:.1f} | {per_second / baseline:.3f} |")
    assert np.isfinite(baseline)


if __name__ == "__main__":
    main()
