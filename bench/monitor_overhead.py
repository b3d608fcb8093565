"""What monitoring costs serving: an agent endpoint with its prediction log on (every request
captured, parsed and posted with each report) and off, in one run, alternating rounds; wrk,
one-row JSON requests, a LogisticRegression. Target: at most 5% fewer requests/s with it on.

    .venv/bin/python bench/monitor_overhead.py [--duration 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import machine, table, today
from endpoint import agent_process, packages, serve_state
from tests.agent.plane import ControlPlane

from serving import Load, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    runs: dict[str, list[Load]] = {"off": [], "on": [], "off1": [], "on1": []}
    with (
        tempfile.TemporaryDirectory(prefix="mlpipex-bench-monitor-") as tmp,
        contextlib.ExitStack() as running,  # each server stopped, whatever fails after it starts
    ):
        root = Path(tmp)
        lr, _ = packages(root)
        post = root / "post.lua"
        plane = ControlPlane(root / "objects")
        plane.start()
        running.callback(plane.stop)
        v1 = {"version": 1, "weight": 100, "files": plane.files(lr), "pickle": False}
        base = {
            "name": "lr",
            "model": "lr",
            "sticky_header": None,
            "shadow": None,
            "versions": [v1],
        }
        states = {"off": {**base, "log_sample_rate": 0.0}, "on": {**base, "log_sample_rate": 1.0}}
        agent = running.enter_context(agent_process(plane.url, root / "agent-cache"))
        endpoint = f"{agent}/endpoints/lr"
        for _ in range(args.rounds):
            for key, state in states.items():
                serve_state(agent, plane, state)
                runs[key].append(wrk(endpoint, post, args.connections, args.duration))
                runs[key + "1"].append(wrk(endpoint, post, 1, args.duration))

    def med(key: str, field: str) -> float:
        return statistics.median(getattr(load, field) for load in runs[key])

    ratio = med("on", "rps") / med("off", "rps")
    print(f"# monitoring overhead — {machine()} — {today()}\n")
    print(
        table(
            [
                "agent endpoint, LR",
                f"req/s ({args.connections} conn)",
                "p50 ms (1 conn)",
                "p99 ms (1 conn)",
            ],
            [
                [
                    "prediction log off",
                    f"{med('off', 'rps'):.0f}",
                    f"{med('off1', 'p50_ms'):.3f}",
                    f"{med('off1', 'p99_ms'):.3f}",
                ],
                [
                    "prediction log on (100%)",
                    f"{med('on', 'rps'):.0f}",
                    f"{med('on1', 'p50_ms'):.3f}",
                    f"{med('on1', 'p99_ms'):.3f}",
                ],
            ],
        )
    )
    print(f"\nreq/s with monitoring on / off: {ratio:.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()
