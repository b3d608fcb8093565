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
