"""`mlpipex quickstart`: the main job end to end, on the embedded default, in a scratch folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.rule import Rule

from mlpipex.cli import render
from mlpipex.cli.context import echo, out
from mlpipex.cli.quickstart_stack import TRAIN_RF_PY, Stack, Traffic, wait_for
from mlpipex.domain.deployment import DeploymentState, EndpointStatus
from mlpipex.errors import PolicyViolation

MODEL = "fraud-detector"
POLICY = {
    "gates": {"staging": {"auc": ">= 0.7"}, "production": {"auc": ">= 0.8"}},
    "must_beat_current": "auc",
    "approvals": {"production": {"count": 1, "role": "approver"}},
}
ENDPOINT = {
    "name": MODEL,
    "model": MODEL,
    "follow": "production",
    "rollout": {
        "strategy": "canary",
        "steps": [30, 100],
        "interval": "3s",
        "analysis": {"max_error_rate": 0.05, "max_p99_latency_ms": 1000, "min_requests": 20},
    },
    "monitoring": {"window": 600},
}
TRAIN_PY = '''\
"""Train a fraud classifier on train.csv, evaluate on test.csv (written by mlpipex quickstart)."""
import json

from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score

from mlpipex.flavors import save_model

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
X, y = train.drop(columns=["label"]), train["label"]
model = LogisticRegression(max_iter=500).fit(X, y)
proba = model.predict_proba(test.drop(columns=["label"]))[:, 1]
metrics = {"auc": roc_auc_score(test["label"], proba),
           "accuracy": accuracy_score(test["label"], proba > 0.5)}
# A model package (skops, signature, reference profile for drift), not a bare pickle.
save_model(Path("model"), model, input_example=X[:5], reference_data=X)
json.dump(metrics, open("metrics.json", "w"))
'''


def _step(title: str) -> None:
    out.print(Rule(f"[bold]{title}", align="left"))


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _make_project(root: Path, seed: int) -> None:
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=3000,
        n_features=12,
        n_informative=6,
        n_clusters_per_class=1,
        class_sep=1.2,
        weights=[0.8],
        flip_y=0.02,
        random_state=seed,
    )
    (root / "data").mkdir()
    header = ",".join([f"f{i}" for i in range(x.shape[1])] + ["label"])
    for name, sl in (("train", slice(0, 2400)), ("test", slice(2400, None))):
        rows = [
            ",".join(f"{v:.6f}" for v in r) + f",{int(t)}"
            for r, t in zip(x[sl], y[sl], strict=True)
        ]
        (root / "data" / f"{name}.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    (root / "train.py").write_text(TRAIN_PY)
    (root / ".gitignore").write_text(".mlpipex/\nmodel/\nmetrics.json\n")
    _git(root, "init", "-q")
    _git(
        root, "-c", "user.name=quickstart", "-c", "user.email=quickstart@mlpipex.local", "add", "."
    )
    _git(
        root,
        "-c",
        "user.name=quickstart",
        "-c",
        "user.email=quickstart@mlpipex.local",
        "commit",
        "-q",
        "-m",
        "fraud model: data and training code",
    )


def quickstart(
    directory: Path | None = typer.Option(
        None, "--dir", help="Scratch folder (default: a new temp one)."
    ),
    seed: int = typer.Option(7, "--seed"),
) -> None:
    """The main job end to end: train a model, see a registration refused, register it
    complete, promote it past a gate and an approval, serve it from an endpoint (`mlpipex up`),
    roll a second model out by canary, read its metrics and drift, print lineage, verify the
    audit chain."""
    from mlpipex.client import Client

    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="mlpipex-quickstart-"))
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise typer.BadParameter(
            f"{root} is not empty; give an empty or new folder", param_hint="--dir"
        )
    uri = str(root / ".mlpipex")
    alice = Client(uri, user="alice")
    bob = Client(uri, user="bob")

    _step(f"1. A project in {root}: generated data, train.py, one git commit")
    _make_project(root, seed)
    subprocess.run([sys.executable, "train.py"], cwd=root, check=True)
    metrics = json.loads((root / "metrics.json").read_text())
    out.print(
        f"trained LogisticRegression: auc {metrics['auc']:.3f}, accuracy {metrics['accuracy']:.3f}"
    )

    _step("2. A model with a policy: auc gates, must beat Production, one approval for Production")
    alice.create_model(MODEL, "Flags fraudulent card transactions.", POLICY)
    out.print(json.dumps(POLICY))

    _step("3. Registration without datasets or metrics is refused, and nothing is stored")
    try:
        alice.register(MODEL, root / "model")
    except PolicyViolation as exc:
        out.print(f"[red]refused:[/] {exc.message}")
    out.print(f"objects stored: {len(list(alice.registry.objects.iter_digests()))}")

    _step("4. Registered complete: commit from git, dataset digests, evaluation metrics")
    v = alice.register(
        MODEL,
        root / "model",
        flavor="sklearn",
        datasets={"train": str(root / "data/train.csv"), "test": str(root / "data/test.csv")},
        metrics=metrics,
    )
    out.print(render.version_detail(v), markup=False)

    _step("5. Promotion: Staging (gate auc >= 0.7), Production (gate auc >= 0.8 and an approval)")
    r = alice.promote(MODEL, v.version, "Staging", "passed offline evaluation")
    out.print(f"alice: {MODEL}/{v.version} -> {r.to_stage}: {r.status}")
    r = alice.promote(MODEL, v.version, "Production", "ready to serve")
    out.print(
        f"alice: {MODEL}/{v.version} -> Production: {r.status}, "
        f"waiting for {r.approvals_missing} approval by an approver"
    )
    r = bob.approve(MODEL, v.version, "Production", "metrics and data checked")
    out.print(f"bob approves: {MODEL}/{v.version} -> {r.to_stage}: {r.status}")
    bob.set_alias(MODEL, "champion", v.version)

    _step("6. Deployment: `mlpipex up` (control plane and agent), an endpoint following Production")
    with Stack(root / ".mlpipex") as stack:
        alice.apply_endpoint(ENDPOINT)
        rows = _test_rows(root)
        wait_for(lambda: _answers(stack, f"{MODEL}/{v.version}", rows[0]), 60, "the agent")
        with Traffic(stack.agent_url, MODEL, rows) as t:
            time.sleep(2)
        out.print(f"endpoint {MODEL} on {stack.agent_url}: {dict(t.seen)}")

        _step("7. A random forest, trained with the SDK, through the gates and a canary rollout")
        env = {**os.environ, "MLPIPEX_URI": uri, "MLPIPEX_USER": "alice"}
        (root / "train_rf.py").write_text(TRAIN_RF_PY)
        printed = subprocess.run(
            [sys.executable, "train_rf.py"],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        v2, auc2 = int(printed[-2]), float(printed[-1])
        out.print(f"logged run and registered {MODEL}/{v2} (auc {auc2:.3f}) from the run")
        alice.promote(MODEL, v2, "Staging", "beats the logistic regression offline")
        alice.promote(MODEL, v2, "Production", "roll it out")
        with Traffic(stack.agent_url, MODEL, rows) as t:
            bob.approve(MODEL, v2, "Production", "canary it")
            out.print(
                f"bob approved: Production is now version {v2}, so endpoint {MODEL} rolls it out"
            )
            seen_steps: list[str] = []

            def finished() -> bool:
                s = alice.endpoint_status(MODEL)
                split = " ".join(f"v{x.version}:{x.weight}%" for x in s.traffic)
                state = s.deployment.state if s.deployment else None
                if not seen_steps or seen_steps[-1] != split:
                    seen_steps.append(split)
                    out.print(f"  traffic {split} ({state})")
                return state is not None and not state.active

            wait_for(finished, 120, "the rollout")
            time.sleep(1.5)
        status = alice.endpoint_status(MODEL)
        state = status.deployment.state if status.deployment else None
        out.print(f"requests answered during the rollout, by version: {dict(t.seen)}")
        echo(render_status(status))

        _step("8. Monitoring: per-version metrics and a drift check against the reference profile")
        metrics_text = httpx.get(f"{stack.url}/metrics", timeout=10).text
        for line in metrics_text.splitlines():
            if line.startswith(
                (
                    "mlpipex_endpoint_requests_total",
                    "mlpipex_endpoint_errors_total",
                    "mlpipex_endpoint_traffic_weight",
                )
            ):
                out.print(f"  {line}", markup=False)
        with Traffic(stack.agent_url, MODEL, rows):  # a window of logged requests for drift
            wait_for(
                lambda: len(alice.prediction_log(MODEL, version=v2, limit=600)) >= 600,
                60,
                "600 logged requests",
            )
        drift = alice.endpoint_drift(MODEL, v2)
        verdict = {True: "drifted", False: "no drift", None: "not enough data yet"}[
            drift["drifted"]
        ]
        out.print(f"drift of {MODEL}/{v2} over its last {drift['window']} requests: {verdict}")
        for f in drift["features"][:4]:
            out.print(
                f"  {f['name']}: {f['test']} {f['score']:.3f} (threshold {f['threshold']}), "
                f"psi {f['psi']:.3f}"
            )

    _step("9. Lineage of the new version: datasets -> run -> version -> stages -> deployments")
    out.print(render.lineage_tree(alice.lineage(MODEL, v2)))

    _step("10. Audit log, hash chain verified")
    events = alice.events()
    out.print(str(render.events_table(events[-12:])), markup=False)
    report = alice.verify_audit()
    out.print(
        f"chain: {'intact' if report.ok else 'BROKEN at ' + str(report.broken_seq)}, "
        f"{report.checked} events"
    )
    alice.close()
    bob.close()
    out.print(
        f"[bold green]Quickstart done[/] in {root}: refused an incomplete registration, "
        f"registered {MODEL} v{v.version} (auc {metrics['auc']:.3f}) and promoted it past the "
        f"gates and bob's approval, served it from an endpoint, rolled v{v2} (auc {auc2:.3f}) "
        f"out by canary ({state}), checked metrics and drift, and "
        f"verified an audit chain of {report.checked} events."
    )
    if not report.ok or state != DeploymentState.SUCCEEDED:
        raise typer.Exit(1)


def _test_rows(root: Path) -> list[dict[str, Any]]:
    import pandas as pd

    test = pd.read_csv(root / "data" / "test.csv")
    records: list[dict[str, Any]] = test.drop(columns=["label"]).to_dict("records")
    return records


def _answers(stack: Stack, label: str, row: dict[str, Any]) -> bool:
    try:
        r = httpx.post(
            f"{stack.agent_url}/endpoints/{MODEL}/invocations",
            json={"dataframe_records": [row]},
            timeout=5,
        )
    except httpx.HTTPError:
        return False
    return r.status_code == 200 and r.headers.get("x-mlpipex-model-version") == label


def render_status(s: EndpointStatus) -> str:
    d = s.deployment
    if d is None:
        return f"endpoint {s.name}: no rollout"
    lines = [
        f"endpoint {s.name}: rollout {d.state} v{d.from_version} -> v{d.to_version} ({d.strategy})"
    ]
    for a in d.analysis:
        lines.append(
            f"  step at {a.weight}%: {a.requests} requests, error rate "
            f"{a.error_rate:.3f}, p99 {a.p99_latency_ms:g} ms: "
            f"{'passed' if a.passed else '; '.join(a.breached)}"
        )
    return "\n".join(lines)
