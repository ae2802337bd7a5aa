"""Wall time and peak memory of ``emofuse demo``, against its 10-minute budget on 2 CPU cores.

Runs the real command in a fresh temporary folder, as the README does, at each ``--size``
given, and prints per run: wall seconds, the ratio to the 600 s budget, peak resident memory
of the demo process, and each stage's seconds from the demo's own summary table. The smallest
size is the baseline the others are compared with (seconds per curated post).

    .venv/bin/python benchmarks/demo.py --sizes 30 500

Results and the command are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_S = 600.0
STAGES = ("sandbox", "crawl reddit", "crawl flickr", "curate", "benchmark", "report", "release")


def run_demo(size: int, seeds: int) -> dict:
    script = Path(sys.executable).parent / "emofuse"
    with tempfile.TemporaryDirectory(prefix="emofuse-demo-bench-") as folder:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        result = subprocess.run(
            [str(script), "demo", "--size", str(size), "--seeds", str(seeds)],
            cwd=folder,
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
            check=False,
        )
        wall = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if result.returncode != 0:
            raise SystemExit(f"emofuse demo --size {size} failed:\n{result.stderr[-3000:]}")
        stages = {}
        for stage in STAGES:
            match = re.search(rf"│ {stage}\s+│ done\s+│\s+([\d.]+) │", result.stderr)
            stages[stage] = float(match.group(1)) if match else float("nan")
        posts = sum(int(n) for n in re.findall(r"(?:flickr|reddit): (\d+) posts \(", result.stderr))
    return {
        "size": size,
        "wall": wall,
        "peak_mb": max(peak_kb, before) / 1024,  # ru_maxrss: the largest child so far, in KB
        "stages": stages,
        "posts": posts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 500])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    runs = [run_demo(size, args.seeds) for size in sorted(args.sizes)]
    base = runs[0]
    print(f"cpu cores: {os.cpu_count()}, seeds: {args.seeds}, budget: {BUDGET_S:.0f} s\n")
    header = (
        "| --size | curated posts | wall (s) | of budget | s per post vs smallest | peak RSS (MB) |"
    )
    print(header)
    print("|---|---|---|---|---|---|")
    for run in runs:
        per_post = (run["wall"] / run["posts"]) / (base["wall"] / base["posts"])
        print(
            f"| {run['size']} | {run['posts']} | {run['wall']:.0f} | "
            f"{run['wall'] / BUDGET_S:.2f} | {per_post:.2f} | {run['peak_mb']:.0f} |"
        )
    print("\n| stage | " + " | ".join(f"--size {r['size']} (s)" for r in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for stage in STAGES:
        print(f"| {stage} | " + " | ".join(f"{r['stages'][stage]:.1f}" for r in runs) + " |")


if __name__ == "__main__":
    main()
