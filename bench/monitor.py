"""Monitoring benchmark (issue 6): drift of a window of 100,000 rows x 25 features against a
reference profile, on one core; the target is under 1 s.

    .venv/bin/python bench/monitor.py [--rows 100000] [--features 25] [--runs 7]
"""

from __future__ import annotations

import os

# Before numpy loads: one thread for every BLAS/OpenMP pool, so the figure is one core's.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, seconds, table, today

from mlpipex.domain.profile import profile
from mlpipex.monitor.drift import compute_drift

TARGET_S = 1.0


def _mixed(rng: np.random.Generator, rows: int, features: int, shift: float) -> pd.DataFrame:
    """Numeric features plus one categorical in five, of 60 categories (so the top 50 and
    ``__other__`` are all in play)."""
    cats = np.array([f"c{i:02d}" for i in range(60)])
    weights = np.arange(60, 0, -1) / np.arange(60, 0, -1).sum()
    data: dict[str, object] = {}
    for i in range(features):
        if i % 5 == 4:
            data[f"f{i}"] = cats[rng.choice(60, rows, p=weights)]
        else:
            data[f"f{i}"] = rng.normal(size=rows) + (shift if i % 2 else 0.0)
    return pd.DataFrame(data)


def drift_cases(rows: int, features: int) -> list[tuple[str, dict, object]]:
    """(label, reference profile, current window) per case."""
    rng = np.random.default_rng(0)
    large = profile(rng.normal(size=(50_000, features)))
    small = profile(rng.normal(size=(1_000, features)))
    numeric = rng.normal(size=(rows, features))
    numeric[:, ::2] += 0.5  # half the features drifted: every path does its full work
    mixed_ref = profile(_mixed(rng, 50_000, features, 0.0))
    return [
        ("numeric, reference 50k rows: Wasserstein + PSI (2-D array)", large, numeric),
        ("numeric, reference 50k rows (DataFrame)", large, pd.DataFrame(numeric)),
        ("numeric, reference 1k rows: KS + PSI", small, numeric),
        (
            "4/5 numeric + 1/5 categorical (60 values): JS",
            mixed_ref,
            _mixed(rng, rows, features, 0.5),
        ),
    ]


def bench_drift(rows: int, features: int, runs: int) -> list[list[str]]:
    out = []
    for label, ref, current in drift_cases(rows, features):
        compute_drift(ref, current)  # warm-up: imports, first-call allocations
        wall, cpu = [], []
        for _ in range(runs):
            start = time.process_time()
            wall.append(seconds(lambda ref=ref, cur=current: compute_drift(ref, cur)))
            cpu.append(time.process_time() - start)
        median = statistics.median(wall)
        out.append(
            [
                label,
                f"{median * 1000:.0f} ms",
                f"{min(wall) * 1000:.0f} ms",
                f"{statistics.median(cpu) * 1000:.0f} ms",
                "ok" if median < TARGET_S else "OVER TARGET",
            ]
        )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--features", type=int, default=25)
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    with threadpool_limits(limits=1):
        rows = bench_drift(args.rows, args.features, args.runs)
    print(f"drift: {args.features} features x {args.rows:,} rows, median of {args.runs} runs, "
          f"one thread; target < {TARGET_S:.0f} s")  # fmt: skip
    print(table(["case", "median", "best", "median CPU", f"< {TARGET_S:.0f} s"], rows))
    print(f"machine: {machine()}; date: {today()}")


if __name__ == "__main__":
    main()
