"""`mlpipex quickstart`: the main job end to end, on the embedded default, in a scratch folder."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import typer
from rich.rule import Rule

from mlpipex.cli import render
from mlpipex.cli.context import out
from mlpipex.errors import PolicyViolation

MODEL = "fraud-detector"
POLICY = {
    "gates": {"staging": {"auc": ">= 0.7"}, "production": {"auc": ">= 0.8"}},
    "must_beat_current": "auc",
    "approvals": {"production": {"count": 1, "role": "approver"}},
}
TRAIN_PY = '''\
"""Train a fraud classifier on train.csv, evaluate on test.csv (written by mlpipex quickstart)."""
import json

import numpy as np
from skops.io import dump
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score

train = np.loadtxt("data/train.csv", delimiter=",", skiprows=1)
test = np.loadtxt("data/test.csv", delimiter=",", skiprows=1)
model = LogisticRegression(max_iter=500).fit(train[:, :-1], train[:, -1])
proba = model.predict_proba(test[:, :-1])[:, 1]
metrics = {"auc": roc_auc_score(test[:, -1], proba),
           "accuracy": accuracy_score(test[:, -1], proba > 0.5)}
dump(model, "model.skops")
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
    (root / ".gitignore").write_text(".mlpipex/\nmodel.skops\nmetrics.json\n")
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
    """Train a model, see a registration refused, register it complete, promote it through
    Staging to Production past a metric gate and an approval, print lineage, verify the audit."""
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
        alice.register(MODEL, root / "model.skops")
    except PolicyViolation as exc:
        out.print(f"[red]refused:[/] {exc.message}")
    out.print(f"objects stored: {len(list(alice.registry.objects.iter_digests()))}")

    _step("4. Registered complete: commit from git, dataset digests, evaluation metrics")
    v = alice.register(
        MODEL,
        root / "model.skops",
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

    _step("6. Lineage")
    out.print(render.lineage_tree(alice.lineage(MODEL, v.version)))

    _step("7. Audit log, hash chain verified")
    events = alice.events()
    out.print(str(render.events_table(events)), markup=False)
    report = alice.verify_audit()
    out.print(
        f"chain: {'intact' if report.ok else 'BROKEN at ' + str(report.broken_seq)}, "
        f"{report.checked} events"
    )
    alice.close()
    bob.close()
    out.print(
        f"[bold green]Quickstart done[/] in {root}: trained {MODEL} (auc {metrics['auc']:.3f}), "
        f"refused an incomplete registration, registered version {v.version} with its commit, "
        f"datasets and metrics, promoted it to Production past the auc gate and bob's approval, "
        f"and verified an audit chain of {report.checked} events."
    )
    if not report.ok:
        raise typer.Exit(1)
