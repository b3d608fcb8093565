"""Sign-in timing: a wrong password for a real user against any password for a name that does not
exist. Equal times mean timing tells no one which accounts exist (target: ratio within 0.9-1.1).

    .venv/bin/python bench/signin.py [--n 60]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table, today

from mlpipex.client import Client
from mlpipex.errors import Unauthorized
from mlpipex.service.access import throttle
from mlpipex.service.access import users as access
from mlpipex.service.context import Actor


def _summary(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Client(tmp, actor=Actor("root")) as c:
        c.create_user("ann", ["viewer"], password="the-right-password")
        reg = c.registry
        # Each attempt comes after the backoff window, so no lock shortens an answer.
        ticks = itertools.count(1)
        reg.clock = lambda: next(ticks) * (throttle.WINDOW_MS + 1)
        names = (f"nobody-{i}" for i in itertools.count())

        def attempt(user: str) -> float:
            t = time.perf_counter()
            with contextlib.suppress(Unauthorized):
                access.authenticate_password(reg, user, "a-wrong-password")
            return (time.perf_counter() - t) * 1000

        # Interleaved, so load from elsewhere on the machine falls on both alike.
        pairs = [(attempt("ann"), attempt(next(names))) for _ in range(args.n + 5)][5:]
        wrong, unknown = (_summary([p[i] for p in pairs]) for i in (0, 1))
    rows = [
        ["wrong password, real user", f"{wrong[0]:.1f}", f"{wrong[1]:.1f}"],
        ["unknown user", f"{unknown[0]:.1f}", f"{unknown[1]:.1f}"],
    ]
    print(table(["sign-in refused", "median ms", "p99 ms"], rows))
    print(f"\nunknown / wrong median: {unknown[0] / wrong[0]:.2f} (target 0.9-1.1)")
    print(f"{machine()}, {today()}")


if __name__ == "__main__":
    main()
