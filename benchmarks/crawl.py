"""Benchmark `emofuse crawl reddit` against the sandbox: concurrency, memory, rate limits.

A sandbox world of N single-image posts (two subreddits) is served with a fixed latency
injected on every image request, and with an enforced API rate limit announced through
``X-Ratelimit-*`` headers. The real command runs in a subprocess (so the server and the
crawler do not share a GIL), once with ``--workers 16`` and once with ``--workers 1``.

Printed: the download phase's wall time against the ideal (images x latency / workers) and
against ``--workers 1``, the whole command's wall time, the crawler's peak memory (max RSS),
and the number of 429 answers (the target is zero: the crawler follows the headers).

    .venv/bin/python benchmarks/crawl.py                 # 2,000 images, 50 ms latency
    .venv/bin/python benchmarks/crawl.py --images 400    # a quicker look
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emofuse.crawlers.sandbox.reddit_api import crawl_environment
from emofuse.crawlers.sandbox.server import SandboxServer
from emofuse.crawlers.sandbox.world import IMAGE_ONLY_WEIGHTS, World

RUNNER = """
import resource, sys
from emofuse.cli import main
try:
    main(sys.argv[1:])
finally:
    print(f"MAXRSS_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
"""


def run_crawl(server: SandboxServer, workers: int, data: Path) -> dict:
    env = {
        **os.environ,
        **crawl_environment(server, user_agent="emofuse-benchmark"),
        "COLUMNS": "200",
    }
    args = ["crawl", "reddit", "--data", str(data), "--workers", str(workers)]
    for name in server.world.subreddits:
        args += ["--subreddit", f"{name}=joy"]
    server.reset_counts()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *args], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"crawl failed ({done.returncode}):\n{done.stderr[-3000:]}")
    downloads = re.search(r"downloads this run: (\d+) stored.*? in ([\d.]+) s", done.stderr, re.S)
    rss = re.search(r"MAXRSS_KB=(\d+)", done.stderr)
    return {
        "workers": workers,
        "stored": int(downloads.group(1)),
        "download_s": float(downloads.group(2)),
        "wall_s": wall,
        "peak_rss_mb": int(rss.group(1)) / 1024,
        "api_requests": server.count("reddit.*"),
        "responses_429": server.count("*", 429),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per image request")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--rate-limit", type=int, default=10, help="API requests per window")
    parser.add_argument("--window", type=float, default=5.0, help="rate-limit window, seconds")
    parser.add_argument("--skip-serial", action="store_true", help="skip the --workers 1 run")
    options = parser.parse_args()

    per_sub = (options.images + 1) // 2
    world = World.generate(
        seed=0,
        posts_per_subreddit=per_sub,
        subreddits={"bench_a": "joy", "bench_b": "fear"},
        kind_weights=IMAGE_ONLY_WEIGHTS,
        listing_cap=max(1000, per_sub),
        nsfw=(),
    )
    for host, path in list(world.images):  # render before timing: the server's work is not ours
        world.blob(host, path)
    images = sum(1 for (host, _path) in world.images if host == "i.redd.it")
    results = []
    with SandboxServer(world) as server:
        server.inject("host.*", "latency", seconds=options.latency)
        server.enforce_rate_limit(options.rate_limit, options.window, routes="reddit.*")
        runs = [options.workers] + ([] if options.skip_serial else [1])
        for workers in runs:
            with tempfile.TemporaryDirectory() as folder:
                results.append(run_crawl(server, workers, Path(folder)))

    print(
        f"images: {images}, latency {options.latency * 1000:.0f} ms per image request, "
        f"API limit {options.rate_limit} requests / {options.window:.0f} s, "
        f"CPUs: {os.cpu_count()}"
    )
    print(
        "| workers | images stored | download s | ideal s | x ideal | x vs 1 worker | "
        "command wall s | peak RSS MB | API requests | 429s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    serial = next((r for r in results if r["workers"] == 1), None)
    for r in results:
        ideal = images * options.latency / r["workers"]
        speedup = f"{serial['download_s'] / r['download_s']:.1f}x faster" if serial else "-"
        print(
            f"| {r['workers']} | {r['stored']} | {r['download_s']:.1f} | {ideal:.1f} | "
            f"{r['download_s'] / ideal:.2f} | {speedup} | {r['wall_s']:.1f} | "
            f"{r['peak_rss_mb']:.0f} | {r['api_requests']} | {r['responses_429']} |"
        )


if __name__ == "__main__":
    main()
