"""ONNX graphs converted from real scikit-learn models answer as scikit-learn does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skl2onnx import to_onnx
from sklearn.linear_model import LinearRegression

from mlpipex.flavors import load_model, save_model
from tests.flavors.conftest import Fitted


def test_classifier_answers_with_its_labels(fitted: Fitted, tmp_path: Path):
    X = fitted.X.to_numpy()
    proto = to_onnx(fitted.logistic, X[:1].astype(np.float32))
    info = save_model(tmp_path / "m", proto)
    assert info.flavor == "onnx" and info.pickle is False
    # Without an example the signature comes from the graph's declared input.
    assert info.signature is not None and info.signature.format == "ndarray"
    assert len(info.signature.inputs) == X.shape[1]
    model = load_model(tmp_path / "m")
    expected = fitted.logistic.predict(X)
    np.testing.assert_array_equal(model.predict(X), expected)
    np.testing.assert_array_equal(model.predict(fitted.X), expected)
    np.testing.assert_array_equal(model.predict(X.tolist()), expected)


def test_regressor_from_an_onnx_file_answers_one_value_per_row(fitted: Fitted, tmp_path: Path):
    X = fitted.X.to_numpy()
    reg = LinearRegression().fit(X, X @ np.array([1.0, -2.0, 0.5, 3.0]))
    onnx_file = tmp_path / "reg.onnx"
    onnx_file.write_bytes(to_onnx(reg, X[:1].astype(np.float32)).SerializeToString())
    info = save_model(tmp_path / "m", onnx_file, input_example=fitted.X.head(5))
    assert info.signature is not None and info.signature.outputs is not None
    assert [c.type for c in info.signature.outputs] == ["float"]
    got = load_model(tmp_path / "m").predict(fitted.X)
    assert got.shape == (len(X),)
    np.testing.assert_allclose(got, reg.predict(X), rtol=1e-4, atol=1e-4)
