"""Tracking benchmark: metrics logged per second (single calls, batches of 1,000) and search_runs
over 10,000 runs, MLPipeX's embedded store against MLflow 3.17 on a sqlite tracking URI, measured
in the same run (MLflow from its own venv, bench/.venvs/mlflow: `pip install mlflow==3.17.2`).

    .venv/bin/python bench/tracking.py [--runs 10000] [--single 2000] [--batches 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

FILTER = "metrics.auc > 0.9 and params.model = 'rf' and tags.team = 'risk'"
ORDER = ["metrics.auc DESC"]
MLFLOW_PY = Path(__file__).parent / ".venvs" / "mlflow" / "bin" / "python"

# The same workload, written once for each client; {setup} binds client, new_run, log_*, search.
WORKLOAD = textwrap.dedent(
    """
    import json, random, statistics, sys, time
    {setup}
    args = json.loads(sys.argv[1])
    out = {{}}
    run = new_run()
    t = time.perf_counter()
    for i in range(args["single"]):
        log_one(run, "loss", 1.0 / (i + 1), i)
    out["single"] = args["single"] / (time.perf_counter() - t)
    run = new_run()
    t = time.perf_counter()
    for b in range(args["batches"]):
        log_many(run, [("loss", float(i), b * 1000 + i) for i in range(1000)])
    out["batch"] = args["batches"] * 1000 / (time.perf_counter() - t)
    rnd = random.Random(7)
    t = time.perf_counter()
    for i in range(args["runs"]):
        r = new_run()
        populate(r, {{"model": rnd.choice(["rf", "xgb", "lr"]), "depth": str(i % 10)}},
                 {{"auc": rnd.random(), "loss": rnd.random()}},
                 {{"team": rnd.choice(["risk", "fraud"])}})
    out["populate_s"] = time.perf_counter() - t
    for name, flt, order, n in [("search_filtered", FILTER, ORDER, 100),
                                ("search_first_page", "", None, 1000)]:
        times = []
        for _ in range(5):
            t = time.perf_counter()
            found = search(flt, order, n)
            times.append(time.perf_counter() - t)
        out[name] = statistics.median(times) * 1000
        out[name + "_rows"] = found
    print(json.dumps(out))
    """
)

OURS = textwrap.dedent(
    """
    import mlpipex
    from mlpipex.service.tracking.checks import Metric
    FILTER = {filter!r}; ORDER = {order!r}
    client = mlpipex.Client({uri!r})
    exp = client.create_experiment("bench")
    def new_run():
        return client.create_run(exp, entry_point="bench.py", commit="0" * 40).id
    def log_one(run, k, v, step):
        client.log_metric(run, k, v, step=step)
    def log_many(run, items):
        client.log_batch(run, [Metric(k, v, 0, s) for k, v, s in items])
    def populate(run, params, metrics, tags):
        client.log_batch(run, [Metric(k, v, 0, 0) for k, v in metrics.items()], params, tags)
    def search(flt, order, n):
        return len(client.search_runs(exp, flt or None, order, max_results=n).items)
    """
)

THEIRS = textwrap.dedent(
    """
    import logging; logging.disable(logging.WARNING)
    import mlflow
    from mlflow.entities import Metric, Param, RunTag
    FILTER = {filter!r}; ORDER = {order!r}
    client = mlflow.MlflowClient(tracking_uri={uri!r})
    exp = client.create_experiment("bench")
    def new_run():
        return client.create_run(exp).info.run_id
    def log_one(run, k, v, step):
        client.log_metric(run, k, v, step=step)
    def log_many(run, items):
        now = int(time.time() * 1000)
        client.log_batch(run, metrics=[Metric(k, v, now, s) for k, v, s in items])
    def populate(run, params, metrics, tags):
        now = int(time.time() * 1000)
        client.log_batch(run, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
                         params=[Param(k, v) for k, v in params.items()],
                         tags=[RunTag(k, v) for k, v in tags.items()])
    def search(flt, order, n):
        return len(client.search_runs([exp], flt, order_by=order, max_results=n))
    """
)


def _run(python: str, setup: str, args: dict[str, int], cwd: Path) -> dict[str, float]:
    script = WORKLOAD.format(setup=setup)
    res = subprocess.run(
        [python, "-c", script, json.dumps(args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        sys.exit(f"{python} failed:\n{res.stderr[-3000:]}")
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def _machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--single", type=int, default=2_000)
    p.add_argument("--batches", type=int, default=20)
    a = p.parse_args()
    args = {"runs": a.runs, "single": a.single, "batches": a.batches}
    with tempfile.TemporaryDirectory(prefix="mlpipex-bench-") as tmp:
        root = Path(tmp)
        (root / "ours").mkdir()
        (root / "mlflow").mkdir()
        fmt = {"filter": FILTER, "order": ORDER}
        ours = _run(
            sys.executable,
            OURS.format(uri=str(root / "ours" / ".mlpipex"), **fmt),
            args,
            root / "ours",
        )
        theirs: dict[str, float] = {}
        if MLFLOW_PY.exists():
            uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"
            theirs = _run(str(MLFLOW_PY), THEIRS.format(uri=uri, **fmt), args, root / "mlflow")
    rows = [
        ("log_metric, single calls (metrics/s)", "single", True),
        ("log_batch of 1,000 (metrics/s)", "batch", True),
        (
            f"search_runs over {a.runs:,} runs, filter + order, 100 rows (ms)",
            "search_filtered",
            False,
        ),
        (f"search_runs over {a.runs:,} runs, first 1,000 rows (ms)", "search_first_page", False),
        (f"populate {a.runs:,} runs: create + log_batch (s)", "populate_s", False),
    ]
    print("| figure | MLPipeX | MLflow 3.17 | ratio |\n| --- | --- | --- | --- |")
    for label, key, higher_better in rows:
        mine, other = ours[key], theirs.get(key)
        ratio = (
            "-"
            if not other
            else (f"{mine / other:.1f}x" if higher_better else f"{other / mine:.1f}x faster")
        )
        print(f"| {label} | {mine:,.1f} | {f'{other:,.1f}' if other else 'n/a'} | {ratio} |")
    print(
        f"\nrows found (ours/MLflow): filtered {ours['search_filtered_rows']:.0f}/"
        f"{theirs.get('search_filtered_rows', 0):.0f}"
    )
    print(f"machine: {_machine()}; date: {dt.date.today().isoformat()}")
    if not theirs:
        print(
            "MLflow not measured: python -m venv bench/.venvs/mlflow && "
            "bench/.venvs/mlflow/bin/pip install mlflow==3.17.2"
        )


if __name__ == "__main__":
    main()
