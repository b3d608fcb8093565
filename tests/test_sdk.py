"""The fluent SDK end to end on both databases: runs as context managers, nested and failed runs,
log_model with registration, load_model by every URI form, a tampered artifact refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression

import mlpipex
from mlpipex.client import Client
from mlpipex.domain.models import PICKLE_TAG
from mlpipex.errors import Corrupt, Invalid, PolicyViolation
from tests.conftest import Backend

pytestmark = pytest.mark.direct  # reaches into the database or objects, or tracks runs

PUBLIC = {
    "ActiveRun",
    "Client",
    "__version__",
    "active_run",
    "end_run",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_batch",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "pyfunc",
    "set_tag",
    "set_tags",
    "start_run",
}


@pytest.fixture
def env(backend: Backend, fluent: Callable[[dict[str, str]], str]) -> Backend:
    """The fluent API pointed at backend from a git checkout, with its cache under tmp_path."""
    fluent(backend.env())
    return backend


@pytest.fixture
def data() -> tuple[pd.DataFrame, pd.Series]:
    x = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 5})
    return x, (x.a > 19).astype(int)


def test_public_names_are_locked() -> None:
    assert set(mlpipex.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(mlpipex, name) is not None
    assert mlpipex.pyfunc.PythonModel is not None


def test_run_context_finishes_fails_and_nests(env: Backend) -> None:
    with mlpipex.start_run(experiment="fraud", run_name="outer", tags={"team": "risk"}) as outer:
        mlpipex.log_params({"model": "rf", "depth": 3})
        mlpipex.log_metric("loss", 0.5, step=0)
        mlpipex.log_metrics({"loss": 0.3}, step=1)
        mlpipex.set_tag("stage", "dev")
        with pytest.raises(Invalid, match="already active"):
            mlpipex.start_run()
        with pytest.raises(ZeroDivisionError), mlpipex.start_run(nested=True) as child:
            assert mlpipex.active_run() is child
            1 / 0  # noqa: B018
        assert mlpipex.active_run() is outer
    assert mlpipex.active_run() is None
    c = Client()
    run, kid = c.get_run(outer.run_id), c.get_run(child.run_id)
    assert (run.status, kid.status, kid.parent_id) == ("FINISHED", "FAILED", outer.run_id)
    assert run.params == {"model": "rf", "depth": "3"} and run.metrics == {"loss": 0.3}
    assert run.tags == {"team": "risk", "stage": "dev"}
    assert run.commit is not None and run.entry_point == "train.py"
    assert [m.value for m in c.get_metric_history(outer.run_id, "loss")] == [0.5, 0.3]
    assert c.get_experiment(run.experiment_id).name == "fraud"


def test_log_model_registers_and_loads_by_alias_with_equal_predictions(
    env: Backend, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = data
    model = LogisticRegression().fit(x, y)
    with mlpipex.start_run(experiment="fraud") as run:
        mlpipex.log_dataset("train", x)
        mlpipex.log_metric("auc", 0.97)
        info = mlpipex.log_model(
            model,
            "model",
            registered_model_name="fraud",
            input_example=x.head(3),
            reference_data=x,
        )
    v = info.registered_model_version
    assert v is not None and (v.run_id, v.flavor, v.metrics) == (
        run.run_id,
        "sklearn",
        {"auc": 0.97},
    )
    assert v.commit is not None and [d.name for d in v.datasets] == ["train"]
    assert PICKLE_TAG not in v.tags
    c = Client()
    c.set_alias("fraud", "champion", v.version)
    expected = model.predict(x)
    for uri in ("models:/fraud@champion", f"models:/fraud/{v.version}", info.model_uri):
        assert (np.asarray(mlpipex.load_model(uri).predict(x)) == expected).all(), uri
    c.promote("fraud", v.version, "Staging")
    assert (np.asarray(mlpipex.load_model("models:/fraud/Staging").predict(x)) == expected).all()
    with pytest.raises(Invalid, match="b"):  # the signature names the missing column
        mlpipex.load_model("models:/fraud@champion").predict(x[["a"]])


def test_pickle_only_when_allowed_and_the_version_says_so(
    env: Backend, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = data
    with mlpipex.start_run() as run:
        mlpipex.log_dataset("train", x)
        mlpipex.log_metric("auc", 0.9)
        with pytest.raises(Invalid, match="cannot save a model of type builtins"):
            mlpipex.log_model(object(), "bad", registered_model_name="fraud")
        info = mlpipex.log_model(
            LogisticRegression().fit(x, y), registered_model_name="fraud", allow_pickle=True
        )
    v = info.registered_model_version
    assert info.pickle and v is not None and v.tags[PICKLE_TAG] == "true"
    assert v.framework == f"sklearn {sklearn.__version__}"
    assert Client().list_artifacts(run.run_id, "bad") == []
    with pytest.raises(Invalid, match="pickle"):
        mlpipex.load_model("models:/fraud/1")
    assert len(mlpipex.load_model("models:/fraud/1", allow_pickle=True).predict(x)) == 40


def test_a_code_model_is_tagged_and_loads_only_when_trusted(
    env: Backend, data: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    x, _ = data
    code = tmp_path / "half.py"
    code.write_text(
        "from mlpipex.pyfunc import PythonModel, set_model\n"
        "class Half(PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        return model_input.sum(axis=1) / 2\n"
        "set_model(Half())\n"
    )
    with mlpipex.start_run():
        mlpipex.log_dataset("train", x)
        mlpipex.log_metric("auc", 0.9)
        info = mlpipex.log_model(python_model=code, registered_model_name="half", input_example=x)
    v = info.registered_model_version
    assert info.pickle and v is not None and v.tags == {PICKLE_TAG: "true"}
    with pytest.raises(Invalid, match="--allow-pickle"):
        mlpipex.load_model("models:/half/1")
    got = mlpipex.load_model("models:/half/1", allow_pickle=True).predict(x)
    assert list(got) == list(x.sum(axis=1) / 2)


def test_refused_registration_leaves_the_run_untouched(
    env: Backend, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = data
    with mlpipex.start_run() as run:
        with pytest.raises(PolicyViolation, match="dataset"):
            mlpipex.log_model(LogisticRegression().fit(x, y), "model", registered_model_name="m")
        assert Client().list_artifacts(run.run_id) == []


def test_a_tampered_artifact_is_refused_at_load(
    env: Backend, data: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    x, y = data
    with mlpipex.start_run():
        mlpipex.log_dataset("train", x)
        mlpipex.log_metric("auc", 0.9)
        info = mlpipex.log_model(LogisticRegression().fit(x, y), registered_model_name="fraud")
    c = Client(cache_dir=tmp_path / "cache")
    digest = next(f.digest for f in info.files if f.path.endswith(".skops"))
    obj = Path(c.registry.objects.path(digest))
    obj.chmod(0o644)
    obj.write_bytes(obj.read_bytes()[:-10] + b"x" * 10)
    with pytest.raises(Corrupt):
        c.load_model("models:/fraud/1")
    with pytest.raises(Corrupt):
        c.load_model(info.model_uri)


def test_log_model_takes_mlflow_3s_name_as_well_as_artifact_path(
    env: Backend, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = data
    model = LogisticRegression().fit(x, y)
    with mlpipex.start_run() as run:
        named = mlpipex.log_model(model, name="clf")
        legacy = mlpipex.log_model(model, artifact_path="legacy")
        with pytest.raises(Invalid, match="differ"):
            mlpipex.log_model(model, "a", name="b")
    assert (named.artifact_path, legacy.artifact_path) == ("clf", "legacy")
    paths = {f.path.split("/")[0] for f in Client().list_artifacts(run.run_id)}
    assert paths == {"clf", "legacy"}
    loaded = mlpipex.load_model(named.model_uri)
    assert (loaded.predict(x) == model.predict(x)).all()
