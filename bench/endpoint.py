"""Endpoint routing benchmark: what the agent's routing adds over `mlpipex serve` on the same
model, one run, same machine, same load generator (wrk, one-row JSON POSTs, as bench/serving.py),
both running at once and measured in turn, round after round:

- a LogisticRegression (20 features) at 1 connection: p50 and p99 of `mlpipex serve` (one
  process) and of an `mlpipex agent` endpoint serving it: one version at 100 %, a 90/10 split,
  the split sticky on a header (a new key per request), and 100 % shadow copies to a second
  version;
- the same model at 16 connections: requests/s, direct and through the agent.

The agent follows the control-plane double of tests/agent/plane.py (the protocol only; nothing
of the control plane is on the request path).

    .venv/bin/python bench/endpoint.py [--duration 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import machine, table, today
from tests.agent.plane import ControlPlane

from mlpipex.flavors import save_model
from serving import FEATURES, LUA, Load, _stop, mlpipex_server, wrk

TARGET_ADDED_P50_MS = 0.3

# A new sticky key on every request: the hash is paid each time (wrk builds each request in Lua,
# which costs the load generator a little too).
STICKY_REQUEST = """
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, {["Content-Type"] = "application/json",
                               ["X-User-Id"] = "user-" .. n}, wrk.body)
end
"""


def packages(root: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, FEATURES))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    out = []
    for name, C in (("lr", 1.0), ("lr-canary", 0.5)):
        est = LogisticRegression(C=C, max_iter=500).fit(X, y)
        save_model(root / name, est, input_example=X[:5])
        out.append(root / name)
    body = root / "body.json"
    body.write_text('{"inputs": [[' + ", ".join(f"{v:.6f}" for v in X[0]) + "]]}")
    (root / "post.lua").write_text(LUA.format(body=body))
    (root / "sticky.lua").write_text(LUA.format(body=body) + STICKY_REQUEST)
    return out[0], out[1]


@contextlib.contextmanager
def agent_process(control_plane: str, cache: Path) -> Iterator[str]:
    cmd = [sys.executable, "-m", "mlpipex.cli", "agent", "--control-plane", control_plane]
    cmd += ["--port", "0", "--name", "bench"]
    cmd += ["--cache-dir", str(cache)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        line = ""
        while " serving on " not in line and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"mlpipex agent exited with {proc.returncode}")
            if select.select([proc.stdout], [], [], 0.2)[0]:
                line = proc.stdout.readline()
        if " serving on " not in line:
            raise SystemExit("mlpipex agent did not start")
        yield line.split(" serving on ", 1)[1].split()[0]
    finally:
        _stop(proc)


def in_process(lr: Path, canary: Path, n: int) -> dict[str, float]:
    """Median microseconds of one request through the ASGI app, in this process, no network:
    the model server alone, and the agent's app routing to it (the difference is the routing,
    free of the noise a shared machine adds to wrk's figures)."""
    from mlpipex.agent.app import AgentApp
    from mlpipex.agent.desired import parse_desired
    from mlpipex.agent.table import LiveVersion, build_table, version_key
    from mlpipex.flavors import load_model
    from mlpipex.objects.manifest import hash_tree
    from mlpipex.serving import ModelServer, ServedModel

    body = (lr.parent / "body.json").read_bytes()

    def version(number: int, package: Path, weight: int) -> dict[str, Any]:
        files = [
            {"path": f.path, "digest": f.digest, "size": f.size} for f in hash_tree(package).files
        ]
        return {"version": number, "weight": weight, "files": files, "pickle": False}

    def served(number: int, package: Path) -> ServedModel:
        return ServedModel(
            load_model(package), name="lr", version=str(number), label=f"lr/{number}"
        )

    async def run() -> dict[str, float]:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            pass

        json_ct = [(b"content-type", b"application/json")]
        direct = ModelServer([served(1, lr)])
        one, two = version(1, lr, 100), version(2, canary, 0)
        base = {"name": "lr", "model": "lr", "sticky_header": None, "shadow": None}
        states = {
            "agent": {**base, "versions": [one]},
            "split": {**base, "versions": [{**one, "weight": 90}, {**two, "weight": 10}]},
            "sticky": {
                **base,
                "versions": [{**one, "weight": 90}, {**two, "weight": 10}],
                "sticky_header": "X-User-Id",
            },
        }
        live = {1: LiveVersion.of(served(1, lr)), 2: LiveVersion.of(served(2, canary))}
        headers = [*json_ct, (b"x-user-id", b"user-12345")]
        routed = {"type": "http", "method": "POST", "path": "/endpoints/lr/invocations"}
        calls: dict[str, tuple[Any, dict[str, Any]]] = {
            "direct": (direct, {"type": "http", "method": "POST", "path": "/invocations"})
        }
        for key, doc in states.items():
            app = AgentApp(dict, _nothing, _nothing)  # no prediction log: the routing alone
            state = parse_desired({"generation": 1, "endpoints": [doc]})
            (e,) = state.endpoints
            app.install(
                build_table(state, {version_key(e, v): live[v.version] for v in e.versions}, {})
            )
            calls[key] = (app, routed)
        samples: dict[str, list[float]] = {key: [] for key in calls}
        # Interleaved, one call of each per round: drift on a shared machine hits all alike.
        for _ in range(n):
            for key, (app, scope) in calls.items():
                t = time.perf_counter()
                await app({**scope, "headers": headers}, receive, send)
                samples[key].append(time.perf_counter() - t)
        for v in live.values():
            v.server.close()
        direct.close()
        return {key: statistics.median(s) * 1e6 for key, s in samples.items()}

    return asyncio.run(run())


async def _nothing() -> None:
    pass


def serve_state(agent: str, plane: ControlPlane, endpoint: dict[str, Any]) -> None:
    """Publish endpoint and wait until the agent serves it."""
    generation = plane.set([endpoint])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{agent}/health", timeout=2).json()["generation"] == generation:
                return
        time.sleep(0.1)
    raise SystemExit(f"the agent did not reach generation {generation}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every figure")
    parser.add_argument("--calls", type=int, default=20_000, help="in-process calls per figure")
    args = parser.parse_args()
    d = args.duration
    runs: dict[str, list[Load]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="mlpipex-bench-endpoint-") as tmp,
        contextlib.ExitStack() as running,  # each server stopped, whatever fails after it starts
    ):
        root = Path(tmp)
        lr, canary = packages(root)
        asgi = in_process(lr, canary, args.calls)
        post, sticky = root / "post.lua", root / "sticky.lua"
        plane = ControlPlane(root / "objects")
        plane.start()
        running.callback(plane.stop)
        v1 = {"version": 1, "weight": 100, "files": plane.files(lr), "pickle": False}
        v2 = {"version": 2, "weight": 0, "files": plane.files(canary), "pickle": False}
        base = {"name": "lr", "model": "lr", "sticky_header": None, "shadow": None}
        split = [{**v1, "weight": 90}, {**v2, "weight": 10}]
        shadow = {k: v for k, v in v2.items() if k != "weight"} | {"percent": 100}
        states = {
            "agent": {**base, "versions": [v1]},
            "split": {**base, "versions": split},
            "sticky": {**base, "versions": split, "sticky_header": "X-User-Id"},
            "shadow": {**base, "versions": [v1], "shadow": shadow},
        }
        # Both run all along and the figures alternate, round after round: on a shared
        # machine, load from elsewhere then hits both sides alike.
        direct = running.enter_context(mlpipex_server(lr, 1))
        agent = running.enter_context(agent_process(plane.url, root / "agent-cache"))
        endpoint = f"{agent}/endpoints/lr"
        for _ in range(args.rounds):
            runs.setdefault("direct", []).append(wrk(direct, post, 1, d))
            for key, state in states.items():
                serve_state(agent, plane, state)
                lua = sticky if key == "sticky" else post
                runs.setdefault(key, []).append(wrk(endpoint, lua, 1, d))
            runs.setdefault("direct16", []).append(wrk(direct, post, 16, d))
            serve_state(agent, plane, states["agent"])
            runs.setdefault("agent16", []).append(wrk(endpoint, post, 16, d))

    def med(key: str, field: str) -> float:
        return statistics.median(getattr(load, field) for load in runs[key])

    def row(label: str, key: str) -> list[str]:
        if key == "direct":
            added, target = "", ""
        else:
            pairs = zip(runs[key], runs["direct"], strict=True)
            added = f"{statistics.median(a.p50_ms - b.p50_ms for a, b in pairs):+.3f}"
            target = f"< {TARGET_ADDED_P50_MS} ms"
        return [label, f"{med(key, 'p50_ms'):.3f}", f"{med(key, 'p99_ms'):.3f}", added, target]

    print(
        table(
            ["LR, 1 connection", "p50 ms", "p99 ms", "p50 added ms", "target"],
            [
                row("mlpipex serve (1 process)", "direct"),
                row("agent: 1 version at 100 %", "agent"),
                row("agent: 90/10 split", "split"),
                row("agent: 90/10 sticky on X-User-Id", "sticky"),
                row("agent: 100 % + 100 % shadow copies", "shadow"),
            ],
        )
    )
    ratio = med("agent16", "rps") / med("direct16", "rps")
    print()
    print(
        table(
            ["LR, 16 connections", "req/s", "ratio"],
            [
                ["mlpipex serve (1 process)", f"{med('direct16', 'rps'):.0f}", ""],
                ["agent: 1 version at 100 %", f"{med('agent16', 'rps'):.0f}", f"{ratio:.2f}x"],
            ],
        )
    )
    print()
    print(
        table(
            ["LR, in process (ASGI call, no network, interleaved)", "median us", "added us"],
            [
                [
                    label,
                    f"{asgi[key]:.1f}",
                    "" if key == "direct" else f"{asgi[key] - asgi['direct']:+.1f}",
                ]
                for label, key in (
                    ("ModelServer alone", "direct"),
                    ("agent: 1 version at 100 %", "agent"),
                    ("agent: 90/10 split", "split"),
                    ("agent: 90/10 sticky on X-User-Id", "sticky"),
                )
            ],
        )
    )
    print(
        f"\nmedians of {args.rounds} rounds; wrk {d:g} s per run after 2 s of warm-up, one-row "
        "JSON ('inputs'); added p50: the median of (agent - direct) within each round"
    )
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}; date: {today()}")


if __name__ == "__main__":
    main()
