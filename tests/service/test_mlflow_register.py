"""Registering through the MLflow API from a run's artifacts: what the MLmodel says is read once
per content, and the registration costs a fixed number of statements."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlpipex.client import Client
from mlpipex.service.mlflow import registry as mlflow_registry
from mlpipex.service.tracking.runs import Run
from tests.conftest import statements_sent

pytestmark = pytest.mark.direct  # reaches into the database and the objects


@pytest.fixture
def logged(client: Client, tmp_path: Path, make_file: Callable[..., Path]) -> Run:
    """A run with what the strict policy asks for and an MLflow model directory under model/."""
    run = client.create_run(commit="b" * 40)
    client.log_dataset(run.id, "train", str(make_file("train.csv", content=b"a,b\n1,2\n")))
    client.log_metrics(run.id, {"auc": 0.9}, step=0)
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    (model / "model.bin").write_bytes(b"weights")
    client.log_artifacts(run.id, model, "model")
    return run


def test_an_mlmodel_is_read_once_for_the_versions_registered_from_it(
    client: Client, logged: Run
) -> None:
    read: list[bytes] = []

    def describe(text: bytes) -> tuple[str | None, dict[str, str]]:
        read.append(text)
        return "sklearn", {"framework": "sklearn 1.5"}

    reg = client.registry
    for _ in range(3):
        v = mlflow_registry.create_version(
            reg, "fraud", f"runs:/{logged.id}/model", logged.id, {}, "", None, describe
        ).version
        assert (v.flavor, v.tags) == ("sklearn", {"framework": "sklearn 1.5"})
    assert read == [b"flavors: {}\n"]


def test_a_registration_from_a_run_costs_four_reads_and_nine_writes(
    client: Client, logged: Run
) -> None:
    reg, source = client.registry, f"runs:/{logged.id}/model"
    mlflow_registry.create_version(reg, "fraud", source, logged.id, {}, "", None)
    with statements_sent(reg.store.engine) as sent:
        v = mlflow_registry.create_version(reg, "fraud", source, logged.id, {}, "", None).version
    assert (v.version, v.commit, v.metrics) == (2, "b" * 40, {"auc": 0.9})
    # read: the run, its listing, its inputs with its metrics, the model; written: the number (which
    # reads the workspace's quotas), the version, its metrics, datasets and files, the event
    # (the chain's head read, the event, the head moved), where MLflow's API says it came from
    assert len(sent) == 13, sent
    assert not [s for s in sent if "FROM workspaces" in s and not s.startswith("UPDATE")]
