"""CPU per call of the MLflow registry writes in process: the requests the mlflow client sends
for create_model_version (model-versions/create) and set_model_version_tag
(registered-models/get, then model-versions/set-tag), as route functions called with the
server's registry (``create_app``), on bench/mlflow_compat.py's workload (a run with a commit,
a metric, a dataset and a 100 KB model directory; strict policy). The calling thread's CPU
(``time.thread_time``), so the app's background loops do not count: steadier than the
server's CPU over HTTP on a shared machine; and the wall time per call, which on PostgreSQL
holds the round trips. Min and median of --rounds rounds.

    .venv/bin/python bench/mlflow_writes.py [--store sqlite|postgresql] [--calls 300]
        [--versions 225] [--rounds 3]

PostgreSQL: a throwaway server, or MLPIPEX_BENCH_POSTGRES_URL (a database of its own: the
registry's tables are created in it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, postgres, table, today
from fastapi.testclient import TestClient

from mlpipex.server.app import create_app
from mlpipex.server.mlflow import models as mlflow_models
from mlpipex.server.mlflow import versions as mlflow_versions
from mlpipex.server.settings import ServerSettings
from mlpipex.service.context import Actor

API = "/api/2.0/mlflow"


@contextlib.contextmanager
def _store(kind: str, d: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield str(d / ".mlpipex")
        return
    with postgres() as url:
        yield url


def _workload(tc: TestClient) -> str:
    """What bench/mlflow_compat.py logs before it registers, through the app; the run's id."""
    post, put = tc.post, tc.put
    eid = post(f"{API}/experiments/create", json={"name": "bench"}).json()["experiment_id"]
    commit = [{"key": "mlflow.source.git.commit", "value": "0" * 40}]
    run = post(f"{API}/runs/create", json={"experiment_id": eid, "tags": commit}).json()
    run_id = run["run"]["info"]["run_id"]
    metric = {"key": "auc", "value": 0.9, "timestamp": 0, "step": 0}
    post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": [metric]}).raise_for_status()
    data = {"name": "train", "digest": "abcd1234", "source_type": "local", "source": "{}"}
    inputs = {"run_id": run_id, "datasets": [{"dataset": data, "tags": []}]}
    post(f"{API}/runs/log-inputs", json=inputs).raise_for_status()
    for name, body in (("MLmodel", b"flavors: {}\n"), ("model.bin", os.urandom(100_000))):
        path = f"/api/2.0/mlflow-artifacts/artifacts/{eid}/{run_id}/artifacts/model/{name}"
        put(path, content=body).raise_for_status()
    post(f"{API}/registered-models/create", json={"name": "bench-model"}).raise_for_status()
    return run_id


def _per_call_ms(fn: Callable[[int], object], calls: int, rounds: int) -> list[tuple[float, float]]:
    """(CPU, wall) per call, in ms, of each round."""
    for i in range(10):
        fn(i)
    out = []
    for _ in range(rounds):
        cpu, wall = time.thread_time(), time.perf_counter()
        for i in range(calls):
            fn(i)
        out.append(
            ((time.thread_time() - cpu) / calls * 1000, (time.perf_counter() - wall) / calls * 1000)
        )
    return out


def measure(kind: str, calls: int, versions: int, rounds: int) -> list[list[str]]:
    with tempfile.TemporaryDirectory(prefix="mlpipex-bench-writes-") as tmp:
        d = Path(tmp)
        with _store(kind, d) as store:
            app = create_app(ServerSettings(store=store, objects=str(d / "objects")))
            with TestClient(app) as tc:
                run_id = _workload(tc)
                reg = app.state.mlpipex.registry(Actor("bench"))
                create = {
                    "name": "bench-model",
                    "source": f"runs:/{run_id}/model",
                    "run_id": run_id,
                }

                def register(_: int) -> object:
                    return mlflow_versions.create(reg, dict(create))

                def tag(i: int) -> object:
                    mlflow_models.get(reg, {"name": "bench-model"})
                    tagged = {"name": "bench-model", "version": "1", "key": "k", "value": str(i)}
                    return mlflow_versions.set_tag(reg, tagged)

                for i in range(versions):
                    register(i)
                rows = []
                for name, fn in (
                    ("create_model_version", register),
                    ("set_model_version_tag", tag),
                ):
                    cpu, wall = zip(*_per_call_ms(fn, calls, rounds), strict=True)
                    with app.state.mlpipex.store.read() as conn:
                        n = conn.exec_driver_sql("SELECT count(*) FROM model_versions").scalar()
                    figures = (min(cpu), statistics.median(cpu), min(wall), statistics.median(wall))
                    rows.append([kind, name, *(f"{x:.3f}" for x in figures), str(n)])
                return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--versions", type=int, default=225, help="versions registered first")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    rows = measure(args.store, args.calls, args.versions, args.rounds)
    heads = ["store", "call", "CPU ms, min", "median", "wall ms, min", "median", "versions after"]
    print(table(heads, rows))
    print(f"\nmachine: {machine()}; date: {today()}; load: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
