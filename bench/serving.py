"""Model serving benchmark: `mlpipex serve` against `mlflow models serve` (MLflow 3.17.2 from its
own venv, bench/.venvs/mlflow-serve, `--env-manager local`), one run, same machine, same load
generator (wrk, one-row JSON POSTs from a Lua script):

- a RandomForest (50 trees, depth 8, 20 features) at 32 connections: requests/s, p50, p99;
- a LogisticRegression (20 features) at 1 connection: p50, p99;
- an XGBoost classifier (100 trees, depth 6, 20 features) at 32 connections: requests/s, p99
  (MLflow serves the directory `mlflow.xgboost.save_model` writes, we the xgboost flavor).

Both servers get the same number of worker processes (--workers, default 2 on this 2-core
machine). Installs wrk (apt-get) and the MLflow venv (pip) when they are missing.

    .venv/bin/python bench/serving.py [--duration 10] [--workers 2] [--models rf,lr,xgb]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import sklearn
import xgboost
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table, today

from mlpipex.flavors import save_model

ROOT = Path(__file__).resolve().parent.parent
MLFLOW_VENV = ROOT / "bench" / ".venvs" / "mlflow-serve"
MLFLOW_VERSION = "3.17.2"
FEATURES = 20

# MLflow writes its own model directory from the same fitted estimator, with its own mlflow.
# MLflow 3.17 saves with skops too, and wants the tree type trusted as we do.
SAVE_MLFLOW = """
import json, pickle, sys
import mlflow.sklearn, mlflow.xgboost
from mlflow.models import infer_signature
est, X = pickle.load(open(sys.argv[1], "rb"))
signature = infer_signature(X, est.predict(X))
if type(est).__module__.startswith("xgboost"):
    mlflow.xgboost.save_model(est, sys.argv[2], signature=signature)
else:
    mlflow.sklearn.save_model(est, sys.argv[2], signature=signature,
                              skops_trusted_types=json.loads(sys.argv[3]) or None)
"""

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("{body}", "r")
wrk.body = f:read("*a")
f:close()
"""


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float


def ensure_wrk() -> None:
    if shutil.which("wrk") is None:
        print("installing wrk (apt-get)...", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)


def ensure_tools() -> None:
    ensure_wrk()
    if not (MLFLOW_VENV / "bin" / "mlflow").exists():
        print(f"installing MLflow {MLFLOW_VERSION} in {MLFLOW_VENV}...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
        subprocess.run(
            [str(MLFLOW_VENV / "bin" / "pip"), "install", "-q", *_mlflow_requirements()],
            check=True,
        )


def _mlflow_requirements() -> list[str]:
    return [
        f"mlflow=={MLFLOW_VERSION}",
        f"scikit-learn=={sklearn.__version__}",
        f"xgboost-cpu=={xgboost.__version__}",
    ]


def models(root: Path, wanted: set[str]) -> dict[str, tuple[Path, Path]]:
    """{name: (MLPipeX package, MLflow model directory)} of the same fitted estimators."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, FEATURES))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    fitters = {
        "rf": lambda: RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0),
        "lr": lambda: LogisticRegression(max_iter=500),
        "xgb": lambda: xgboost.XGBClassifier(n_estimators=100, max_depth=6, random_state=0),
    }
    out = {}
    for name, make in fitters.items():
        if name not in wanted:
            continue
        est = make().fit(X, y)
        info = save_model(root / f"{name}-mlpipex", est, input_example=X[:5])
        blob = root / f"{name}.pkl"
        blob.write_bytes(pickle.dumps((est, X[:5])))
        trusted = json.dumps(list(info.trusted_types))
        python = str(MLFLOW_VENV / "bin" / "python")
        mlflow_dir = root / name
        subprocess.run([python, "-c", SAVE_MLFLOW, str(blob), str(mlflow_dir), trusted], check=True)
        out[name] = (root / f"{name}-mlpipex", mlflow_dir)
    body = '{"inputs": [[' + ", ".join(f"{v:.6f}" for v in X[0]) + "]]}"
    (root / "body.json").write_text(body)
    (root / "post.lua").write_text(LUA.format(body=root / "body.json"))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def mlflow_server(model: Path, workers: int, log: Path) -> Iterator[str]:
    port = _free_port()
    cmd = [str(MLFLOW_VENV / "bin" / "mlflow"), "models", "serve", "-m", str(model)]
    cmd += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", str(workers)]
    with log.open("w") as f:
        # MLflow starts `uvicorn` by name: its venv's bin must come first on PATH.
        env = {**os.environ, "PATH": f"{MLFLOW_VENV / 'bin'}{os.pathsep}{os.environ['PATH']}"}
        proc = subprocess.Popen(
            cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ping(url, proc)
        yield url
    finally:
        _stop(proc)


@contextlib.contextmanager
def mlpipex_server(model: Path, workers: int) -> Iterator[str]:
    cmd = [sys.executable, "-m", "mlpipex.cli", "serve", str(model), "--port", "0"]
    cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        url = ""
        while not url and time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stdout], [], [], 0.2)[0]:
                line = proc.stdout.readline()
                url = line.split(" on ", 1)[1].split()[0] if " on http" in line else ""
        if not url:
            raise SystemExit("mlpipex serve did not start")
        _wait_ping(url, proc)
        yield url
    finally:
        _stop(proc)


def _wait_ping(url: str, proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server at {url} exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise SystemExit(f"the server at {url} did not answer /ping")


def _stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    # The server's own process group: uvicorn's workers go with it.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()


def wrk(url: str, lua: Path, connections: int, seconds: float) -> Load:
    threads = min(2, connections)
    # A short run first: warm caches and connections, and check every answer is a 200.
    for duration, warmup in ((2.0, True), (seconds, False)):
        cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency"]
        out = subprocess.run(
            [*cmd, "-s", str(lua), f"{url}/invocations"], capture_output=True, text=True, check=True
        ).stdout
        if "Non-2xx" in out:
            raise SystemExit(f"errors from {url}:\n{out}")
        if not warmup:
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
            return Load(rps, _percentile(out, "50"), _percentile(out, "99"))
    raise AssertionError("unreachable")


def _percentile(out: str, p: str) -> float:
    m = re.search(rf"^\s+{p}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if m is None:
        raise SystemExit(f"no {p}% latency in wrk's output:\n{out}")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=2, help="mlpipex serve --workers")
    parser.add_argument(
        "--mlflow-workers", type=int, default=1, help="mlflow models serve -w (its default: 1)"
    )
    parser.add_argument("--models", default="rf,lr,xgb", help="which models' figures to take")
    args = parser.parse_args()
    wanted = set(args.models.split(","))
    ensure_tools()
    # (figure key, model, connections, server, workers)
    plan = [
        ("rf", "rf", 32, "mlpipex", args.workers),
        ("rf1", "rf", 32, "mlpipex", 1),
        ("lr", "lr", 1, "mlpipex", args.workers),
        ("xgb", "xgb", 32, "mlpipex", args.workers),
        ("rf", "rf", 32, "mlflow", args.mlflow_workers),
        ("rf1", "rf", 32, "mlflow", 1),
        ("lr", "lr", 1, "mlflow", args.mlflow_workers),
        ("xgb", "xgb", 32, "mlflow", args.mlflow_workers),
    ]
    plan = [p for p in plan if p[1] in wanted]
    loads: dict[tuple[str, str], Load] = {}
    with tempfile.TemporaryDirectory(prefix="mlpipex-bench-serving-") as tmp:
        root = Path(tmp)
        paths = models(root, wanted)
        for key, name, connections, server, workers in plan:
            if key == "rf1" and workers == loads_workers(plan, server):
                loads[(key, server)] = loads[("rf", server)]
                continue
            ours, theirs = paths[name]
            started = (
                mlpipex_server(ours, workers)
                if server == "mlpipex"
                else mlflow_server(theirs, workers, root / f"{name}-mlflow.log")
            )
            with started as url:
                loads[(key, server)] = wrk(url, root / "post.lua", connections, args.duration)

    def row(label: str, key: str, field: str, target: str = "", fmt: str = "{:.2f}") -> list[str]:
        ours, theirs = (getattr(loads[(key, s)], field) for s in ("mlpipex", "mlflow"))
        return [label, fmt.format(ours), fmt.format(theirs), f"{ours / theirs:.2f}x", target]

    w, mw = args.workers, args.mlflow_workers
    # (model, label, figure key, field, target, format)
    figures = [
        ("rf", f"RF 32 conn req/s ({w} vs {mw} workers)", "rf", "rps", ">= 10x", "{:.0f}"),
        ("rf", f"RF 32 conn p50 ms ({w} vs {mw})", "rf", "p50_ms", "", "{:.2f}"),
        ("rf", f"RF 32 conn p99 ms ({w} vs {mw})", "rf", "p99_ms", "<= MLflow's", "{:.2f}"),
        ("rf", "RF 32 conn req/s (1 vs 1 worker)", "rf1", "rps", "", "{:.0f}"),
        ("rf", "RF 32 conn p99 ms (1 vs 1)", "rf1", "p99_ms", "", "{:.2f}"),
        ("lr", f"LR 1 conn p50 ms ({w} vs {mw})", "lr", "p50_ms", "< 0.5 ms", "{:.3f}"),
        ("lr", f"LR 1 conn p99 ms ({w} vs {mw})", "lr", "p99_ms", "", "{:.3f}"),
        ("lr", f"LR 1 conn req/s ({w} vs {mw})", "lr", "rps", "", "{:.0f}"),
        ("xgb", f"XGB 32 conn req/s ({w} vs {mw} workers)", "xgb", "rps", ">= 10x", "{:.0f}"),
        ("xgb", f"XGB 32 conn p50 ms ({w} vs {mw})", "xgb", "p50_ms", "", "{:.2f}"),
        ("xgb", f"XGB 32 conn p99 ms ({w} vs {mw})", "xgb", "p99_ms", "<= MLflow's", "{:.2f}"),
    ]
    headers = ["figure", "MLPipeX", f"MLflow {MLFLOW_VERSION}", "ratio", "target"]
    print(table(headers, [row(*f[1:]) for f in figures if f[0] in wanted]))
    print(
        f"\nwrk {args.duration:g} s per figure after 2 s of warm-up, one-row JSON ('inputs'); "
        "mlpipex serve defaults otherwise (--max-batch 64 --max-wait-ms 1)"
    )
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}; date: {today()}")


def loads_workers(plan: list[tuple[str, str, int, str, int]], server: str) -> int:
    """The workers of the server's main RF run: a 1-worker run equal to it is not repeated."""
    return next(p[4] for p in plan if p[0] == "rf" and p[3] == server)


if __name__ == "__main__":
    main()
