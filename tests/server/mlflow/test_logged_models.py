"""MLflow 3 logged models through the real client: unique default names, models a run reads
(log_inputs(models=...)), versions registered from a model recorded on it."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from mlflow.entities import LoggedModelInput

from tests.server.mlflow.conftest import Server, unique

pytestmark = pytest.mark.slow


def test_logged_models_as_inputs_and_as_sources_of_versions(permissive: Server) -> None:
    client = MlflowClient(permissive.url)
    eid = client.create_experiment(unique("lm"))
    first, second = client.create_logged_model(eid), client.create_logged_model(eid)
    assert first.name != second.name
    found = client.search_logged_models(experiment_ids=[eid])
    assert sorted(m.name for m in found) == sorted([first.name, second.name])

    run_id = client.create_run(eid).info.run_id
    client.log_inputs(run_id, models=[LoggedModelInput(first.model_id)])
    assert [i.model_id for i in client.get_run(run_id).inputs.model_inputs] == [first.model_id]

    name = unique("from-model")
    for _ in range(2):
        client.create_model_version(name, first.artifact_location, model_id=first.model_id)
    tag = client.get_logged_model(first.model_id).tags["mlflow.modelVersions"]
    assert tag == f'[{{"name": "{name}", "version": 1}}, {{"name": "{name}", "version": 2}}]'


def test_metrics_logged_with_a_model_id_are_the_models_and_the_runs(
    mlflow_server: Server,
) -> None:
    from mlflow.entities import Metric
    from mlflow.exceptions import MlflowException

    client = MlflowClient(mlflow_server.url)
    eid = client.create_experiment(unique("lm-metrics"))
    model, other = client.create_logged_model(eid), client.create_logged_model(eid)
    run_id = client.create_run(eid).info.run_id
    client.log_metric(
        run_id,
        "auc",
        0.5,
        timestamp=1000,
        step=1,
        model_id=model.model_id,
        dataset_name="eval",
        dataset_digest="d1",
    )
    client.log_batch(
        run_id,
        metrics=[
            Metric("loss", float("nan"), 2000, 2, model_id=model.model_id),
            Metric("plain", 1.0, 2000, 0),
        ],
    )
    got = client.get_logged_model(model.model_id).metrics
    assert [
        (m.key, m.step, m.run_id, m.model_id, m.dataset_name, m.dataset_digest) for m in got
    ] == [
        ("auc", 1, run_id, model.model_id, "eval", "d1"),
        ("loss", 2, run_id, model.model_id, None, None),
    ]
    assert got[0].value == 0.5 and got[1].value != got[1].value  # NaN comes back as NaN
    assert client.get_logged_model(other.model_id).metrics == []
    assert client.get_run(run_id).data.metrics.keys() == {"auc", "loss", "plain"}

    by_dataset = client.search_logged_models(
        experiment_ids=[eid], datasets=[{"dataset_name": "eval", "dataset_digest": "d1"}]
    )
    assert [m.model_id for m in by_dataset] == [model.model_id]
    assert (
        client.search_logged_models(
            experiment_ids=[eid], datasets=[{"dataset_name": "eval", "dataset_digest": "other"}]
        )
        == []
    )

    # a model id that is not here refuses the whole batch: the run's metric is not logged either
    with pytest.raises(MlflowException, match="Logged model with ID 'm-absent' not found"):
        client.log_metric(run_id, "ghost", 1.0, model_id="m-absent")
    assert "ghost" not in client.get_run(run_id).data.metrics
