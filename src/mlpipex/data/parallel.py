"""Small I/O-bound jobs on a few threads; an error or Ctrl-C cancels what has not started."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    return min(8, (os.cpu_count() or 2) * 2)


def parallel_map(fn: Callable[[T], R], items: list[T], jobs: int = 0, chunk: int = 1) -> list[R]:
    """fn over items in order; chunk groups tiny items so they do not drown in task overhead."""
    if len(items) <= max(chunk, 1) or jobs == 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor  # not paid by a no-op status

    groups = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    pool = ThreadPoolExecutor(jobs or default_jobs())
    try:
        futures = [pool.submit(lambda g: [fn(x) for x in g], g) for g in groups]
        return [r for f in futures for r in f.result()]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
