"""MLflow compatibility benchmark: one mlflow client script, run against `mlflow server` (sqlite
backend, proxied artifacts; from its own venv, bench/.venvs/mlflow-server: `pip install
mlflow==3.17.2`, or --mlflow PATH), against `mlpipex server`, and against a no-op server (canned
answers, no work: what the mlflow client itself costs per call), all three running at once and
each operation measured on each in turn. Single calls in ops/s, log_batch of 1,000 metrics in
batches/s, an artifact (100 MB by default) up and down in MB/s.

A call meets its target at >= 20x mlflow server's rate, or, where the client is the limit,
within 1.5x of the no-op call through the same client.

--cpu also prints each server's own CPU per call (user + system time of its process and its
children, read from /proc/PID/stat around the timed calls of each operation): the figure that
moves least with the machine's load. The kernel counts in ticks of 10 ms, so 200 calls of 1 ms
read to about 5 %; more --calls read finer.

    .venv/bin/python bench/mlflow_compat.py [--calls 200] [--batches 20] [--mb 100] [--workers 1]
        [--cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table, today

MLFLOW = Path(__file__).parent / ".venvs" / "mlflow-server" / "bin" / "mlflow"
MLPIPEX = Path(sys.executable).parent / "mlpipex"

# The workload, the same for every server; each operation is measured on each server in turn
# (ours, theirs, no-op) before the next, so a change in the machine's load between operations
# does not tilt one column. Prints one JSON object of figures per server.
CLIENT = textwrap.dedent(
    """
    import json, os, sys, tempfile, time
    from mlflow import MlflowClient
    from mlflow.entities import Dataset, DatasetInput, Metric, RunTag

    urls, pids = json.loads(sys.argv[1]), json.loads(sys.argv[5])
    calls, batches, mb = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    clients = {k: MlflowClient(u) for k, u in urls.items()}
    out = {k: {} for k in urls}
    st = {k: {} for k in urls}
    tick = os.sysconf("SC_CLK_TCK")

    def cpu_seconds(pid):
        # user + system time of pid and every process under it (a server's workers)
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue  # gone meanwhile
                stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
        tree, total = {pid}, 0
        for p in sorted(stats):  # a child's id is almost always above its parent's
            if p in tree or stats[p][0] in tree:
                tree.add(p)
                total += stats[p][1]
        return total / tick

    def rate(name, n, fn, warmup=5):
        for k, c in clients.items():
            for i in range(warmup):
                fn(c, st[k], i)
            used = cpu_seconds(pids[k]) if k in pids else 0.0
            t = time.perf_counter()
            for i in range(n):
                fn(c, st[k], i)
            out[k][name] = n / (time.perf_counter() - t)
            if k in pids:
                out[k]["cpu " + name] = (cpu_seconds(pids[k]) - used) / n * 1000

    for k, c in clients.items():
        st[k]["eid"] = c.create_experiment("bench")
    rate("create_run", calls, lambda c, s, i: c.create_run(s["eid"]))
    for k, c in clients.items():
        st[k]["rid"] = c.create_run(st[k]["eid"]).info.run_id
    rate("log_metric", calls, lambda c, s, i: c.log_metric(s["rid"], "loss", 1.0 / (i + 1), step=i))
    batch = [Metric("m", float(i), 0, i) for i in range(1000)]
    rate("log_batch", batches, lambda c, s, i: c.log_batch(s["rid"], metrics=batch), warmup=2)
    rate("search_runs", calls, lambda c, s, i: c.search_runs(
        [s["eid"]], "attributes.status = 'RUNNING'", max_results=50))

    # a run with what a strict registry asks for, and a small model directory
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(f"{d}/model")
        open(f"{d}/model/MLmodel", "w").write("flavors: {}\\n")
        open(f"{d}/model/model.bin", "wb").write(os.urandom(100_000))
        for k, c in clients.items():
            tags = {"mlflow.source.git.commit": "0" * 40}
            run = c.create_run(st[k]["eid"], tags=tags).info.run_id
            c.log_batch(run, metrics=[Metric("auc", 0.9, 0, 0)])
            c.log_inputs(run, [DatasetInput(Dataset("train", "abcd1234", "local", "{}"), [])])
            c.log_artifacts(run, f"{d}/model", "model")
            c.create_registered_model("bench-model")
            st[k]["run"] = run
    rate("create_model_version", calls, lambda c, s, i: c.create_model_version(
        "bench-model", f"runs:/{s['run']}/model", run_id=s["run"]))
    for c in clients.values():
        c.set_registered_model_alias("bench-model", "champion", "1")
    rate("get_model_version_by_alias", calls,
         lambda c, s, i: c.get_model_version_by_alias("bench-model", "champion"))
    rate("search_model_versions", calls,
         lambda c, s, i: c.search_model_versions("name = 'bench-model'", max_results=50))
    rate("set_model_version_tag", calls,
         lambda c, s, i: c.set_model_version_tag("bench-model", "1", "k", str(i)))

    if mb > 0:
        with tempfile.TemporaryDirectory() as d:
            big = f"{d}/big.bin"
            with open(big, "wb") as f:
                for _ in range(mb):
                    f.write(os.urandom(2**20))
            # each upload on each server in turn, as the calls above; the no-op server takes
            # the body and keeps nothing (what the client can send), and has nothing to give back
            ups, downs = {k: [] for k in clients}, {k: [] for k in clients if k != "noop"}
            for i in range(3):
                for k, c in clients.items():
                    t = time.perf_counter()
                    c.log_artifact(st[k]["run"], big, f"big{i}")
                    ups[k].append(mb / (time.perf_counter() - t))
                    if k in downs:
                        t = time.perf_counter()
                        c.download_artifacts(st[k]["run"], f"big{i}/big.bin", f"{d}/down-{k}{i}")
                        downs[k].append(mb / (time.perf_counter() - t))
                        os.unlink(f"{d}/down-{k}{i}/big.bin")
            for k in clients:
                out[k]["upload_mb_s"] = sorted(ups[k])[1]
                if k in downs:
                    out[k]["download_mb_s"] = sorted(downs[k])[1]
    print(json.dumps(out))
    """
)

# (figure, unit, target ratio to mlflow server, whether being near the no-op client meets it)
ROWS = [
    ("create_run", "ops/s", 20, True),
    ("log_metric", "ops/s", 20, True),
    ("log_batch", "batches/s (1,000 metrics)", 20, True),
    ("search_runs", "ops/s", 20, True),
    ("create_model_version", "ops/s", 20, True),
    ("get_model_version_by_alias", "ops/s", 20, True),
    ("search_model_versions", "ops/s", 20, True),
    ("set_model_version_tag", "ops/s", 20, True),
    # the no-op upload is the client's ceiling, shown beside it; the target stays 2x
    ("upload_mb_s", "MB/s, {mb} MB artifact up", 2, False),
    ("download_mb_s", "MB/s, {mb} MB artifact down", 2, False),
]


NOOP_SLACK = 1.5
SETTLE_S = 10


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server did not start:\n{log.read_text()[-3000:]}")


def _serve(cmd: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLPIPEX_", "MLFLOW_"))}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    _wait(f"http://127.0.0.1:{port}", proc, log)
    return proc


def measure(servers: dict[str, tuple[list[str], int]], d: Path, args: argparse.Namespace) -> Any:
    """Start every server, run the workload against all of them, stop them."""
    procs = []
    try:
        for name, (cmd, port) in servers.items():
            procs.append(_serve(cmd, port, d / f"{name}.log"))
        time.sleep(SETTLE_S)  # start-up work after /health answers (MLflow's job workers)
        env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
        urls = {name: f"http://127.0.0.1:{port}" for name, (_, port) in servers.items()}
        sizes = [str(args.calls), str(args.batches), str(args.mb)]
        pids = {name: p.pid for name, p in zip(servers, procs, strict=True)} if args.cpu else {}
        run = subprocess.run(
            [sys.executable, "-c", CLIENT, json.dumps(urls), *sizes, json.dumps(pids)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            raise SystemExit(f"client failed:\n{run.stderr[-3000:]}")
        return json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=60)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--mb", type=int, default=100)
    p.add_argument("--workers", type=int, default=1, help="mlpipex server worker processes")
    p.add_argument("--mlflow", type=Path, default=MLFLOW, help="the `mlflow` of mlflow==3.17.2")
    p.add_argument("--cpu", action="store_true", help="also each server's CPU per call")
    args = p.parse_args()
    if not args.mlflow.exists():
        raise SystemExit(
            f"{MLFLOW} is missing: python -m venv bench/.venvs/mlflow-server && "
            "bench/.venvs/mlflow-server/bin/pip install mlflow==3.17.2"
        )
    with tempfile.TemporaryDirectory(prefix="mlpipex-bench-mlflow-") as tmp:
        root = Path(tmp)
        ports = [_port() for _ in range(3)]
        ours_cmd = [
            *(str(MLPIPEX), "--uri", str(root / "ours" / ".mlpipex"), "server"),
            *("--port", str(ports[0]), "--workers", str(args.workers)),
        ]
        theirs_cmd = [
            *(str(args.mlflow), "server", "--host", "127.0.0.1", "--port", str(ports[1])),
            *("--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}"),
            *("--artifacts-destination", str(root / "mlflow-artifacts")),
        ]
        noop_cmd = [sys.executable, str(Path(__file__).parent / "_noop_mlflow.py"), str(ports[2])]
        figures = measure(
            {
                "ours": (ours_cmd, ports[0]),
                "theirs": (theirs_cmd, ports[1]),
                "noop": (noop_cmd, ports[2]),
            },
            root,
            args,
        )
    ours, theirs, noop = figures["ours"], figures["theirs"], figures["noop"]
    rows = []
    for key, unit, target, slack in ROWS:
        if key not in ours:
            continue  # not measured this run (--mb 0 skips the artifact rows)
        ratio = ours[key] / theirs[key]
        # the client's own cost per call bounds what any server can give it
        of_noop = noop[key] / ours[key] if key in noop else None
        met = ratio >= target or (slack and of_noop is not None and of_noop <= NOOP_SLACK)
        rows.append(
            [
                key,
                unit.format(mb=args.mb),
                f"{ours[key]:,.1f}",
                f"{theirs[key]:,.1f}",
                f"{ratio:,.1f}x",
                f"{noop[key]:,.1f}" if key in noop else "-",
                f"{of_noop:,.2f}x" if of_noop is not None else "-",
                f">= {target}x" + (f" or <= {NOOP_SLACK}x no-op" if slack else ""),
                "yes" if met else "NO",
            ]
        )
    headers = [
        "operation",
        "unit",
        "MLPipeX",
        "MLflow 3.17.2",
        "ratio",
        "no-op",
        "no-op / MLPipeX",
        "target",
        "met",
    ]
    print(table(headers, rows))
    if args.cpu:
        print("\nserver CPU per call, ms (user + system, the server's processes)\n")
        print(table(["operation", "MLPipeX", "MLflow 3.17.2", "no-op"], _cpu_rows(figures)))
    print(f"\nmachine: {machine()}; date: {today()}; mlpipex server --workers {args.workers}")
    print(f"{args.calls} calls each, {args.batches} batches, {args.mb} MB artifact (median of 3)")


def _cpu_rows(figures: Any) -> list[list[str]]:
    rows = []
    for key, *_ in ROWS:
        if f"cpu {key}" in figures["noop"]:
            cells = [f"{figures[k][f'cpu {key}']:.2f}" for k in ("ours", "theirs", "noop")]
            rows.append([key, *cells])
    return rows


if __name__ == "__main__":
    main()
