"""A broken canary, end to end: a real control plane and agent, requests every 5 ms, a version
that fails every other call promoted to Production. Prints the seconds from promotion to the
completed rollback (target: within two analysis intervals) and the share of requests that
failed during the rollout.

    .venv/bin/python bench/rollback.py [--interval 2s] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import machine, table, today
from tests.deploy.stack import Load, Stack, deployment_state, served

from mlpipex.domain.durations import parse_duration


def one(interval: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="mlpipex-bench-rollback-") as tmp:
        stack = Stack(Path(tmp))
        try:
            c = stack.client
            good, broken = stack.model(1), stack.model(2, broken=True)
            c.promote("m", good, "Production")
            c.apply_endpoint(
                {
                    "name": "ep",
                    "model": "m",
                    "follow": "production",
                    "rollout": {
                        "steps": [20, 50, 100],
                        "interval": interval,
                        "analysis": {"max_error_rate": 0.05, "min_requests": 20},
                    },
                }
            )
            stack.wait(lambda: served(stack, f"m/{good}"))
            load = Load(stack)
            started = time.monotonic()
            c.promote("m", broken, "Production")
            stack.wait(lambda: deployment_state(c) == "rolled_back", timeout=120)
            took = time.monotonic() - started
            stack.wait(lambda: served(stack, f"m/{good}"))
            seen = load.stop()
            failed = sum(n for (code, _), n in seen.items() if code != 200)
            return took, failed / max(1, sum(seen.values()))
        finally:
            stack.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--interval", default="2s")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    results = [one(args.interval) for _ in range(args.runs)]
    secs = statistics.median(r[0] for r in results)
    share = statistics.median(r[1] for r in results)
    limit = 2 * parse_duration(args.interval)
    print(f"# broken canary — {machine()} — {today()}\n")
    print(
        table(
            ["figure", "value", "target"],
            [
                [
                    "promotion to completed rollback (s)",
                    f"{secs:.2f}",
                    f"<= {limit:g} (2 intervals)",
                ],
                [
                    "failed share of requests during the rollout",
                    f"{share:.3f}",
                    "the canary's step share x its error rate",
                ],
            ],
        )
    )
    print(
        f"\nmedians of {args.runs} runs; first canary step 20%, a version failing every other "
        "call; requests every 5 ms"
    )


if __name__ == "__main__":
    main()
