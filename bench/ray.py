"""The Ray runtime beside the local agent: the random forest of bench/serving.py (50 trees, depth
8, 20 features) behind an endpoint following Production, served by `mlpipex agent` (local
runtime) and by `mlpipex agent --runtime ray` with 1 and 2 replicas (a Ray cluster of one node
on loopback, 2 CPUs, started here). wrk at 32 connections, one-row JSON POSTs: requests/s, p50,
p99, non-2xx answers; then the seconds from promoting a second version (all_at_once) to every
answer coming from it.

    .venv/bin/python bench/ray.py [--duration 10]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import machine, table, today
from tests.deploy.raycluster import ray_head
from tests.deploy.stack import Stack

from mlpipex.client import Client
from serving import FEATURES, LUA, _percentile, ensure_wrk

SPEC = {
    "name": "ep",
    "model": "rf",
    "follow": "production",
    "rollout": {"strategy": "all_at_once"},
}
# Two versions of two replicas fit the cluster's 2 CPUs during the promotion.
ACTOR = {"num_cpus": 0.5}


def register(client: Client, root: Path, seed: int) -> int:
    """A random forest as bench/serving.py fits it (another seed: another version)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, FEATURES))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    est = RandomForestClassifier(n_estimators=50, max_depth=8, random_state=seed).fit(X, y)
    run = client.create_run(commit="c" * 40)
    data = root / "train.csv"
    pd.DataFrame(X[:100]).to_csv(data, index=False)
    client.log_dataset(run.id, "train", str(data))
    client.log_metric(run.id, "auc", 0.9)
    info = client.log_model(run.id, est, registered_model_name="rf", input_example=X[:5])
    assert info.registered_model_version is not None
    if not (root / "body.json").exists():
        (root / "body.json").write_text(
            '{"inputs": [[' + ", ".join(f"{v:.6f}" for v in X[0]) + "]]}"
        )
        (root / "post.lua").write_text(LUA.format(body=root / "body.json"))
    return info.registered_model_version.version


def load(url: str, lua: Path, seconds: float) -> tuple[float, float, float, int]:
    """wrk at 32 connections after 2 s of warm-up: (req/s, p50 ms, p99 ms, non-2xx answers)."""
    for duration, warmup in ((2.0, True), (seconds, False)):
        cmd = ["wrk", "-t2", "-c32", f"-d{duration:g}s", "--latency", "-s", str(lua), url]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        if not warmup:
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
            bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
            errors = re.search(r"Socket errors:.*timeout (\d+)", out)
            failed = (int(bad.group(1)) if bad else 0) + (int(errors.group(1)) if errors else 0)
            return rps, _percentile(out, "50"), _percentile(out, "99"), failed
    raise AssertionError("unreachable")


def answered_by(stack: Stack, root: Path) -> str:
    body = (root / "body.json").read_bytes()
    headers = {"content-type": "application/json"}
    try:
        r = stack.http.post("/endpoints/ep/invocations", content=body, headers=headers)
    except httpx.HTTPError:
        return ""
    return r.headers.get("x-mlpipex-model-version", "") if r.status_code == 200 else ""


def promotion_s(stack: Stack, root: Path, version: int) -> float:
    """Seconds from promoting version to 50 answers in a row coming from it."""
    started = time.monotonic()
    stack.client.promote("rf", version, "Production")
    in_a_row = 0
    while in_a_row < 50:
        if time.monotonic() - started > 300:
            raise SystemExit(f"version {version} never served all requests")
        in_a_row = in_a_row + 1 if answered_by(stack, root) == f"rf/{version}" else 0
    return time.monotonic() - started


@contextmanager
def stack(root: Path, args: list[str], port: int | None) -> Iterator[Stack]:
    s = Stack(root, *args, port=port)
    try:
        yield s
    finally:
        s.close()


Figures = tuple[float, float, float, int, float]


def one(
    root: Path, args: list[str], replicas: int | None, seconds: float, port: int | None
) -> Figures:
    root.mkdir()
    with stack(root, args, port) as s:
        v1, v2 = register(s.client, root, 1), register(s.client, root, 2)
        extra = {} if replicas is None else {"replicas": replicas, "ray_actor_options": ACTOR}
        s.client.promote("rf", v1, "Production")
        s.client.apply_endpoint({**SPEC, **extra})
        s.wait(lambda: answered_by(s, root) == f"rf/{v1}", timeout=180)
        rps, p50, p99, failed = load(
            f"{s.agent_url}/endpoints/ep/invocations", root / "post.lua", seconds
        )
        return rps, p50, p99, failed, promotion_s(s, root, v2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    args = parser.parse_args()
    ensure_wrk()
    rows: list[tuple[str, Figures]] = []
    with tempfile.TemporaryDirectory(prefix="mlpipex-bench-ray-") as tmp:
        root = Path(tmp)
        rows.append(("local agent", one(root / "local", [], None, args.duration, None)))
        with ray_head(num_cpus=2) as address:
            ray = ["--runtime", "ray", "--ray-address", address]
            port = None
            for n in (1, 2):
                # Serve's proxy keeps the first agent's port: the second agent reuses it.
                port = port or _port()
                rows.append(
                    (f"Ray, {n} replica(s)", one(root / f"ray{n}", ray, n, args.duration, port))
                )
    local = rows[0][1]
    out = []
    for label, (rps, p50, p99, failed, promo) in rows:
        out.append(
            [
                label,
                f"{rps:.0f}",
                f"{p50:.2f}",
                f"{p99:.2f}",
                str(failed),
                f"{promo:.1f}",
                f"{rps / local[0]:.2f}x",
            ]
        )
    headers = [
        "runtime",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "promotion->100% s",
        "req/s vs local",
    ]
    print(table(headers, out))
    print(
        f"\nwrk -c32 {args.duration:g} s after 2 s of warm-up, one-row JSON ('inputs'); "
        f"Ray replicas {ACTOR}, the ingress in one replica; promotion: all_at_once, until 50 "
        "answers in a row come from the new version"
    )
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}; date: {today()}")


def _port() -> int:
    from tests.conftest import free_port

    return free_port()


if __name__ == "__main__":
    main()
