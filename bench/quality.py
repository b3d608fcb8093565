"""Live quality benchmark (issue 16).

1. Join and score: 1,000,000 logged predictions (two versions, binary labels with scores) with
   1,000,000 labels (shuffled, so the join does real work), through the code `monitor quality`
   runs (latest label per id, the join, each version's metrics with their intervals), against
   pandas' merge and scikit-learn's metrics (no intervals) on the same rows. Target: < 2 s.
2. Feedback ingest: batches of 10,000 labels posted to a real `mlpipex server` (SQLite) whose
   prediction log holds 200,000 requests, one connection. Target: >= 50 calls/s.

    .venv/bin/python bench/quality.py [--rows 1000000] [--calls 60] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import machine, table, today
from tests.conftest import start_server, stop_server

from mlpipex.client import Client
from mlpipex.monitor import feedback, predictions, quality

TARGET_SCORE_S = 2.0
TARGET_CALLS = 50.0
BATCH = 10_000


def tables(rows: int) -> tuple[pa.Table, pa.Table, np.ndarray]:
    """(prediction log, labels, truth per prediction) as the files hold them."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, rows)
    version = rng.integers(1, 3, rows).astype(np.int32)
    right = rng.random(rows) < np.where(version == 1, 0.9, 0.7)
    predicted = np.where(right, truth, 1 - truth)
    score = np.clip(np.where(predicted == 1, 0.7, 0.3) + rng.normal(0, 0.15, rows), 0.01, 0.99)
    ids = pa.array([f"req-{i:08d}" for i in range(rows)])
    words = pa.array(["0", "1"])
    logged = pa.table(
        {
            "time": pa.array(np.arange(rows, dtype=np.int64)),
            "version": pa.array(version),
            "latency_ms": pa.array(np.ones(rows)),
            "status": pa.array(np.full(rows, 200, dtype=np.int16)),
            "input": pa.array(["{}"] * rows),
            "output": words.take(pa.array(predicted)),
            "request_id": ids,
            "predicted": words.take(pa.array(predicted)),
            "score": pa.array(score),
        },
        schema=predictions.SCHEMA,
    )
    order = rng.permutation(rows)
    labels = pa.table(
        {
            "request_id": ids.take(pa.array(order)),
            "version": pa.array(version[order]),
            "label": words.take(pa.array(truth[order])),
        },
        schema=feedback.SCHEMA,
    )
    return logged, labels, truth


def ours(logged: pa.Table, labels: pa.Table) -> dict[int, dict[str, float]]:
    rows = quality.join(logged, labels)
    out = {}
    for v in (1, 2):
        mine = rows.filter(pa.compute.equal(rows.column("version"), v))
        out[v] = {k: e.value for k, e in quality.score(mine, "classification").items()}
    return out


def peer(logged: pa.Table, labels: pa.Table) -> dict[int, dict[str, float]]:
    from sklearn import metrics as skm

    left = logged.select(["request_id", "version", "predicted", "score"]).to_pandas()
    right = labels.select(["request_id", "label"]).to_pandas()
    rows = left.merge(right, on="request_id")
    out = {}
    for v, part in rows.groupby("version"):
        y, p, s = part["label"].astype(int), part["predicted"].astype(int), part["score"]
        out[int(v)] = {
            "accuracy": skm.accuracy_score(y, p),
            "precision": skm.precision_score(y, p),
            "recall": skm.recall_score(y, p),
            "f1": skm.f1_score(y, p),
            "roc_auc": skm.roc_auc_score(y, s),
            "log_loss": skm.log_loss(y, s),
        }
    return out


def timed(fn, runs: int) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """(median wall s, median CPU s, the result)."""
    times, cpus, result = [], [], None
    for _ in range(runs):
        t, cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - cpu)
    return statistics.median(times), statistics.median(cpus), result


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ingest_rate(calls: int, logged_rows: int) -> tuple[float, float, float, float]:
    """Calls/s posting BATCH labels a call: (over HTTP, per CPU second of the server,
    in-process, per CPU second in-process). The machine is shared, so CPU time says what the
    code costs where wall time says what this machine gave it."""
    with tempfile.TemporaryDirectory(prefix="mlpipex-bench-quality-") as tmp:
        root = Path(tmp)
        uri, objects = str(root / ".mlpipex"), str(root / "objects")
        client = Client(uri, objects=objects, user="bench")
        data = root / "train.csv"
        data.write_text("x\n1\n")
        artifact = root / "model.bin"
        artifact.write_bytes(b"model")
        client.register(
            "m", artifact, commit="c" * 40, datasets={"train": str(data)}, metrics={"accuracy": 0.9}
        )
        client.apply_endpoint(
            {"name": "ep", "model": "m", "traffic": [{"version": 1, "weight": 100}]}
        )
        now = client.registry.clock()
        for start in range(0, logged_rows, predictions.MAX_ROWS):
            part = range(start, min(logged_rows, start + predictions.MAX_ROWS))
            predictions.ingest(
                client.registry,
                "ep",
                [
                    {
                        "request_id": f"r{i}",
                        "time": now - logged_rows + i,
                        "version": 1,
                        "input": {},
                        "output": i % 2,
                    }
                    for i in part
                ],
            )
        rng = np.random.default_rng(1)

        def batch() -> list[dict[str, object]]:
            picks = rng.integers(0, logged_rows, BATCH)
            return [{"request_id": f"r{i}", "label": int(i % 3 == 0)} for i in picks]

        batches = [batch() for _ in range(calls)]
        feedback.ingest(client.registry, "ep", batches[0])  # the first builds the id mirror
        t, cpu = time.perf_counter(), time.process_time()
        for b in batches:
            feedback.ingest(client.registry, "ep", b)
        local = calls / (time.perf_counter() - t)
        local_cpu = calls / (time.process_time() - cpu)
        client.close()
        server, url = start_server(uri, objects)
        try:
            with httpx.Client(base_url=url, timeout=30) as http:
                bodies = [json.dumps(b).encode() for b in batches]
                headers = {"content-type": "application/json"}
                http.post("/api/v1/endpoints/ep/feedback", content=bodies[0], headers=headers)
                t, cpu = time.perf_counter(), _cpu_s(server.pid)
                for body in bodies:
                    r = http.post("/api/v1/endpoints/ep/feedback", content=body, headers=headers)
                    r.raise_for_status()
                    assert r.json()["stored"] == BATCH
                remote = calls / (time.perf_counter() - t)
                remote_cpu = calls / (_cpu_s(server.pid) - cpu)
        finally:
            stop_server(server)
        return remote, remote_cpu, local, local_cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--calls", type=int, default=60)
    ap.add_argument("--logged", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {machine()}; {today()}")
    logged, labels, _ = tables(args.rows)
    ours_s, ours_cpu, ours_result = timed(lambda: ours(logged, labels), args.runs)
    peer_s, peer_cpu, peer_result = timed(lambda: peer(logged, labels), max(1, args.runs // 2))
    for v, values in peer_result.items():  # type: ignore[union-attr]
        for name, want in values.items():
            got = ours_result[v][name]  # type: ignore[index]
            assert abs(got - want) < 1e-9, (v, name, got, want)
    remote, remote_cpu, local, local_cpu = ingest_rate(args.calls, args.logged)
    load = os.getloadavg()[0]
    print(f"load average at the end: {load:.1f} on {os.cpu_count()} cores")
    print(
        table(
            ["case", "MLPipeX", "peer", "peer / MLPipeX", "target"],
            [
                [
                    f"join + score {args.rows:,} x {args.rows:,} labels (median of {args.runs})",
                    f"{ours_s:.2f} s ({ours_cpu:.2f} CPU s)",
                    f"{peer_s:.2f} s ({peer_cpu:.2f} CPU s; pandas merge + scikit-learn)",
                    f"{peer_s / ours_s:.1f}x",
                    f"< {TARGET_SCORE_S:g} s",
                ],
                [
                    f"feedback ingest, {BATCH:,} labels a call, HTTP, one connection",
                    f"{remote:.0f} calls/s ({remote_cpu:.0f} per server CPU s)",
                    f"{local:.0f} calls/s in-process ({local_cpu:.0f} per CPU s)",
                    "",
                    f">= {TARGET_CALLS:g} calls/s",
                ],
            ],
        )
    )


if __name__ == "__main__":
    main()
