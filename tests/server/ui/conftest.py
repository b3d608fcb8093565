"""A seeded registry for the UI: two models, versions with metrics, two runs with metric
history, an alias, a version in Staging and a Production transition waiting for an approver;
users for each role when authentication is on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from mlpipex.client import Client
from mlpipex.service.context import Actor
from mlpipex.service.tracking import checks
from mlpipex.service.tracking import runs as tracking

PASSWORD = "password-123"
USERS = {"alice": "editor", "ann": "approver", "vic": "viewer", "root": "admin"}
POLICY = {"approvals": {"Production": {"count": 1, "role": "approver"}}}


@dataclass
class Seeded:
    uri: str
    objects: str
    runs: dict[str, str]  # run name -> id
    experiment_id: str


def seed(root: Path) -> Seeded:
    uri, objects = str(root / ".mlpipex"), str(root / "objects")
    admin = Client(uri, objects=objects, actor=Actor("root"))
    for name, role in USERS.items():
        admin.create_user(name, [role], password=PASSWORD)
    admin.close()
    c = Client(uri, objects=objects, actor=Actor("alice", frozenset({"editor"})))
    reg = c.registry
    data = root / "train.csv"
    data.write_bytes(b"amount,label\n12.5,0\n990.0,1\n")
    digest = c.resolve_datasets({"train": str(data)}, None)[0].digest
    exp = tracking.create_experiment(reg, "fraud-training")
    runs = {}
    for name, depth, best in (("baseline", 4, 0.86), ("deeper", 8, 0.91)):
        run = tracking.create_run(
            reg, tracking.NewRun(exp.id, name=name, commit="b" * 40, entry_point="train.py")
        )
        metrics = [
            checks.Metric(key, value, 1_700_000_000_000 + step * 1000, step)
            for step in range(20)
            for key, value in (
                ("auc", best - 0.3 * 0.8**step),
                ("loss", 1.0 * 0.85**step + depth / 100),
            )
        ]
        tracking.log_batch(reg, run.id, metrics, params={"depth": depth, "lr": "0.1"})
        tracking.log_input(
            reg,
            run.id,
            tracking.DatasetInput("train", str(data), digest, num_rows=2, context="training"),
        )
        model_file = root / f"{name}.bin"
        model_file.write_bytes(b"weights of " + name.encode())
        tracking.log_artifacts(reg, run.id, model_file, "model")
        tracking.end_run(reg, run.id)
        runs[name] = run.id
    c.create_model("fraud", description="Card fraud <scorer>", policy=POLICY)
    weights = root / "weights.bin"
    weights.write_bytes(b"fraud weights")
    c.register("fraud", weights, run_id=runs["baseline"])
    c.register("fraud", weights, run_id=runs["deeper"])
    c.register(
        "fraud", weights, commit="c" * 40, datasets={"train": str(data)}, metrics={"auc": 0.93}
    )
    c.promote("fraud", 1, "Staging", reason="first candidate")
    c.set_alias("fraud", "champion", 1)
    assert c.promote("fraud", 2, "Production", reason="beats v1").status == "pending"
    c.register(
        "churn", weights, commit="d" * 40, datasets={"train": str(data)}, metrics={"f1": 0.7}
    )
    c.close()
    return Seeded(uri, objects, runs, exp.id)


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    return seed(tmp_path)


def bulk_versions(uri: str, objects: str, model: str, n: int) -> None:
    """n more versions of model, inserted in bulk through the store (as bench/registry.py seeds):
    registering them one by one would take minutes and test nothing more."""
    import sqlalchemy as sa

    from mlpipex.store import schema as t

    c = Client(uri, objects=objects, actor=Actor("root"))
    store = c.registry.store
    with store.write() as conn:
        row = conn.execute(sa.select(t.models).where(t.models.c.name == model)).one()
        first = row.last_version + 1
        conn.execute(
            sa.insert(t.versions),
            [
                dict(
                    model_id=row.id,
                    version=i,
                    stage="None",
                    status="READY",
                    description="",
                    commit=f"{i:040x}",
                    commit_dirty=False,
                    run_id=None,
                    flavor=None,
                    artifact_digest="0" * 64,
                    artifact_size=5,
                    created_at=row.created_at + i,
                    created_by="bulk",
                    stage_entered_at=row.created_at + i,
                )
                for i in range(first, first + n)
            ],
        )
        ids = dict(
            conn.execute(
                sa.select(t.versions.c.version, t.versions.c.id).where(
                    t.versions.c.model_id == row.id, t.versions.c.version >= first
                )
            ).all()
        )
        conn.execute(
            sa.insert(t.version_metrics),
            [
                {"version_id": vid, "key": "auc", "value": 0.5 + v / (4 * n)}
                for v, vid in ids.items()
            ],
        )
        conn.execute(
            sa.update(t.models).where(t.models.c.id == row.id).values(last_version=first + n - 1)
        )
    c.close()
