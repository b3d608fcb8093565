"""XGBoost, LightGBM and CatBoost: real models trained here on small data, saved in each
framework's own format (never a pickle), loaded back with predictions equal to the framework's,
logged and registered with their framework named, and MLflow's directories of each read."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost

from mlpipex.cli.render import version_detail
from mlpipex.client import Client
from mlpipex.errors import Invalid
from mlpipex.flavors import FrameworkVersionWarning, load_model, read_package, save_model
from tests.framework_models import COLUMNS, Case, fitted_cases, training_frame

# mlflow warns about its own type hints while saving; none of it is ours.
MLFLOW_NOISE = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    return training_frame()


@pytest.fixture(scope="module")
def cases(frame: tuple[pd.DataFrame, np.ndarray]) -> dict[str, Case]:
    return fitted_cases(*frame)


CASES = [
    "xgb-classifier",
    "xgb-regressor",
    "xgb-booster",
    "lgb-classifier",
    "lgb-booster",
    "cb-classifier",
    "cb-regressor",
]


@pytest.mark.parametrize("name", CASES)
def test_saved_in_the_framework_format_and_predicts_as_the_framework(
    name: str, cases: dict[str, Case], frame: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    case, (X, _) = cases[name], frame
    info = save_model(tmp_path / "m", case.model, input_example=X[:5], reference_data=X)
    assert (info.flavor, info.model_file, info.pickle) == (case.flavor, case.file, False)
    assert info.framework_version == sys.modules[case.flavor].__version__
    assert info.signature is not None and [c.name for c in info.signature.inputs] == COLUMNS
    assert info.profile is not None and info.input_example is not None
    assert not list((tmp_path / "m").glob("*.pkl"))
    loaded = load_model(tmp_path / "m")
    want = case.framework_predict(X)
    np.testing.assert_array_equal(np.asarray(loaded.predict(X)), want)
    # By position too: serving hands an array when the request has no column names.
    np.testing.assert_array_equal(np.asarray(loaded.predict(X.to_numpy())), want)


@pytest.mark.parametrize("name", ["xgb-classifier", "lgb-classifier", "cb-classifier"])
def test_log_model_registers_with_the_framework_named(
    name: str, cases: dict[str, Case], frame: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    case, (X, _) = cases[name], frame
    data = tmp_path / "train.csv"
    X.to_csv(data, index=False)
    with Client(str(tmp_path / "reg")) as client:
        run = client.create_run(commit="c" * 40)
        client.log_dataset(run.id, "train", str(data))
        client.log_metric(run.id, "auc", 0.9)
        info = client.log_model(run.id, case.model, registered_model_name="m", input_example=X[:3])
        v = client.get_version("m/1")
        assert (info.flavor, v.flavor, info.pickle) == (case.flavor, case.flavor, False)
        version = sys.modules[case.flavor].__version__
        assert v.framework == f"{case.flavor} {version}"
        assert f"{case.flavor} ({case.flavor} {version})" in version_detail(v)  # `mlpipex show`
        got = client.load_model("models:/m/1").predict(X)
    np.testing.assert_array_equal(np.asarray(got), case.framework_predict(X))


def test_flavor_names_the_choice(cases: dict[str, Case], tmp_path: Path) -> None:
    model = cases["xgb-classifier"].model
    assert save_model(tmp_path / "a", model, flavor="xgboost").flavor == "xgboost"
    with pytest.raises(Invalid, match="flavor='onnx' does not fit this model"):
        save_model(tmp_path / "b", model, flavor="onnx")
    with pytest.raises(Invalid, match="flavor='lightgbm' does not fit"):
        save_model(tmp_path / "c", model, flavor="lightgbm")


def test_a_missing_framework_names_the_install_command(
    cases: dict[str, Case], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_model(tmp_path / "m", cases["lgb-booster"].model)
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # import lightgbm now raises ImportError
    with pytest.raises(Invalid, match=r"pip install 'mlpipex\[lightgbm\]'"):
        load_model(tmp_path / "m")


@MLFLOW_NOISE
def test_mlflow_directories_load_through_the_flavors(
    cases: dict[str, Case], frame: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    import mlflow.catboost
    import mlflow.lightgbm
    import mlflow.xgboost

    X, _ = frame
    saves = {
        "xgb-classifier": mlflow.xgboost.save_model,
        "xgb-booster": mlflow.xgboost.save_model,
        "lgb-booster": mlflow.lightgbm.save_model,
        "cb-classifier": mlflow.catboost.save_model,
    }
    for name, save in saves.items():
        case = cases[name]
        save(case.model, str(tmp_path / name))
        info = read_package(tmp_path / name)
        assert (info.source, info.flavor, info.pickle) == ("mlflow", case.flavor, False), name
        assert info.framework_version == sys.modules[case.flavor].__version__
        got = load_model(tmp_path / name).predict(X)
        np.testing.assert_array_equal(np.asarray(got), case.framework_predict(X), err_msg=name)


@MLFLOW_NOISE
def test_mlflow_pickled_lightgbm_wrapper_needs_allow_pickle(
    cases: dict[str, Case], frame: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    import mlflow.lightgbm

    X, _ = frame
    case = cases["lgb-classifier"]
    mlflow.lightgbm.save_model(case.model, str(tmp_path / "d"), serialization_format="cloudpickle")
    assert read_package(tmp_path / "d").pickle is True
    with pytest.raises(Invalid, match="allow_pickle=True"):
        load_model(tmp_path / "d")
    got = load_model(tmp_path / "d", allow_pickle=True).predict(X)
    np.testing.assert_array_equal(np.asarray(got), case.framework_predict(X))


@MLFLOW_NOISE
def test_another_major_version_warns(cases: dict[str, Case], tmp_path: Path) -> None:
    import mlflow.xgboost

    mlflow.xgboost.save_model(cases["xgb-booster"].model, str(tmp_path / "d"))
    mlmodel = tmp_path / "d" / "MLmodel"
    here = xgboost.__version__
    mlmodel.write_text(mlmodel.read_text().replace(f"xgb_version: {here}", "xgb_version: 1.7.6"))
    with pytest.warns(
        FrameworkVersionWarning, match=f"saved with xgboost 1.7.6 and is loaded with {here}"
    ):
        load_model(tmp_path / "d")
