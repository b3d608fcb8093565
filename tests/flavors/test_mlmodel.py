"""Directories written by the real mlflow package load through our flavors, with our rules:
pickles only with allow_pickle, models from code by running their file."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from skl2onnx import to_onnx

from mlpipex.errors import Invalid
from mlpipex.flavors import load_model, read_package, verify_package
from tests.flavors.conftest import Fitted

# mlflow warns about type hints when it is imported and when a PythonModel subclass is defined.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CODE = """
import mlflow
from mlflow.pyfunc import PythonModel


class AddOffset(PythonModel):
    def load_context(self, context):
        with open(context.artifacts["offset"]) as f:
            self.offset = float(f.read())

    def predict(self, context, model_input, params=None):
        return model_input + self.offset


mlflow.models.set_model(AddOffset())
"""


@dataclass(frozen=True)
class MlflowDirs:
    skops: Path
    cloudpickle: Path
    code: Path
    onnx: Path


@pytest.fixture(scope="module")
def mlflow_dirs(fitted: Fitted, tmp_path_factory: pytest.TempPathFactory) -> MlflowDirs:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow

        root = tmp_path_factory.mktemp("mlflow")
        # Given requirements, mlflow skips inferring them in a subprocess (seconds each).
        reqs = ["scikit-learn"]
        mlflow.sklearn.save_model(
            fitted.pipeline,
            str(root / "skops"),
            serialization_format="skops",
            skops_trusted_types=["sklearn.tree._tree.Tree"],
            input_example=fitted.X.head(3),
            pip_requirements=reqs,
        )
        mlflow.sklearn.save_model(
            fitted.logistic,
            str(root / "cloudpickle"),
            serialization_format="cloudpickle",
            pip_requirements=reqs,
        )
        (root / "src").mkdir()
        (root / "src" / "offset_model.py").write_text(CODE)
        (root / "src" / "offset.txt").write_text("10")
        mlflow.pyfunc.save_model(
            str(root / "code"),
            python_model=str(root / "src" / "offset_model.py"),
            artifacts={"offset": str(root / "src" / "offset.txt")},
            input_example=pd.DataFrame({"x": [1.0, 2.0]}),
            pip_requirements=["pandas"],
        )
        proto = to_onnx(fitted.logistic, fitted.X.to_numpy()[:1].astype(np.float32))
        mlflow.onnx.save_model(proto, str(root / "onnx"), pip_requirements=["onnxruntime"])
    return MlflowDirs(root / "skops", root / "cloudpickle", root / "code", root / "onnx")


def test_sklearn_skops_directory(mlflow_dirs: MlflowDirs, fitted: Fitted):
    info = read_package(mlflow_dirs.skops)
    assert (info.source, info.flavor, info.serialization, info.pickle) == (
        "mlflow",
        "sklearn",
        "skops",
        False,
    )
    assert info.trusted_types == ("sklearn.tree._tree.Tree",)
    assert info.signature is not None and info.signature.names == list(fitted.X.columns)
    verify_package(mlflow_dirs.skops)  # no digests recorded: nothing to refuse
    model = load_model(mlflow_dirs.skops)
    np.testing.assert_array_equal(model.predict(fitted.X), fitted.pipeline.predict(fitted.X))
    with pytest.raises(Invalid, match='missing column "score"'):
        model.predict(fitted.X.drop(columns="score"))


def test_sklearn_cloudpickle_directory_needs_allow_pickle(mlflow_dirs: MlflowDirs, fitted: Fitted):
    assert read_package(mlflow_dirs.cloudpickle).pickle is True
    with pytest.raises(Invalid, match="pickled"):
        load_model(mlflow_dirs.cloudpickle)
    X = fitted.X.to_numpy()
    model = load_model(mlflow_dirs.cloudpickle, allow_pickle=True)
    np.testing.assert_array_equal(model.predict(X), fitted.logistic.predict(X))


def test_models_from_code_directory(mlflow_dirs: MlflowDirs):
    info = read_package(mlflow_dirs.code)
    assert (info.flavor, info.model_file, info.pickle) == ("python", "offset_model.py", True)
    with pytest.raises(Invalid, match="serialization: code"):
        load_model(mlflow_dirs.code)
    assert info.artifacts == {"offset": "artifacts/offset.txt"}
    model = load_model(mlflow_dirs.code, allow_pickle=True)
    out = model.predict([{"x": 1.0}, {"x": 5.0}])
    assert out["x"].tolist() == [11.0, 15.0]


def test_onnx_directory(mlflow_dirs: MlflowDirs, fitted: Fitted):
    info = read_package(mlflow_dirs.onnx)
    assert (info.flavor, info.model_file) == ("onnx", "model.onnx")
    X = fitted.X.to_numpy()
    np.testing.assert_array_equal(
        load_model(mlflow_dirs.onnx).predict(X), fitted.logistic.predict(X)
    )


def test_an_mlmodel_that_expands_past_the_yaml_limit_is_corrupt(tmp_path: Path) -> None:
    """An MLmodel is read as any YAML the registry reads (libyaml where installed, the
    alias-bomb guard): a few hundred bytes standing for a billion nodes are refused, whether
    the file is read from a directory or from the object store at registration."""
    from mlpipex.errors import Corrupt
    from mlpipex.flavors import mlmodel

    lines = ['l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    lines += ["flavors:", "  python_function: {loader_module: m, data: *l8}"]
    text = "\n".join(lines) + "\n"
    assert len(text) < 1000
    with pytest.raises(Corrupt, match="not a valid MLmodel file"):
        mlmodel.parse(tmp_path, text)
    with pytest.raises(Corrupt):
        mlmodel.parse(tmp_path, text.encode())
    fine = mlmodel.parse(tmp_path, "flavors:\n  python_function: {loader_module: m}\n")
    assert fine.flavor == "python_function"
