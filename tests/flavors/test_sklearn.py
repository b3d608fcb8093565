"""scikit-learn models through skops: round trips, trusted types, and pickle only on request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from mlpipex.errors import Corrupt, Invalid
from mlpipex.flavors import load_model, read_package, save_model
from tests.flavors.conftest import Fitted


def test_logistic_regression_round_trip_on_every_input_form(fitted: Fitted, tmp_path: Path):
    X = fitted.X.to_numpy()
    info = save_model(tmp_path / "m", fitted.logistic, input_example=X[:5])
    assert (info.flavor, info.pickle, info.trusted_types) == ("sklearn", False, ())
    assert info.signature is not None and info.signature.format == "ndarray"
    assert [c.name for c in info.signature.inputs] == ["0", "1", "2", "3"]
    expected = fitted.logistic.predict(X)
    model = load_model(tmp_path / "m")
    for data in (fitted.X, X, X.tolist(), fitted.X.to_dict("records")):
        np.testing.assert_array_equal(model.predict(data), expected)


def test_pipeline_round_trip_records_the_tree_type_it_trusts(fitted: Fitted, tmp_path: Path):
    info = save_model(tmp_path / "m", fitted.pipeline, input_example=fitted.X.head(3))
    assert info.trusted_types == ("sklearn.tree._tree.Tree",)
    assert info.signature is not None
    assert [c.name for c in info.signature.inputs] == list(fitted.X.columns)
    assert [(c.name, c.type) for c in info.signature.outputs or ()] == [(None, "long")]
    assert any(r.startswith("skops==") for r in info.requirements)
    model = load_model(tmp_path / "m")
    expected = fitted.pipeline.predict(fitted.X)
    # Columns are matched by name, so a reordered frame predicts the same.
    np.testing.assert_array_equal(model.predict(fitted.X[fitted.X.columns[::-1]]), expected)
    np.testing.assert_array_equal(model.predict(fitted.X.to_numpy()), expected)
    np.testing.assert_array_equal(model.predict(fitted.X.to_numpy().tolist()), expected)


def test_a_manifest_trusting_a_dangerous_type_is_refused(fitted: Fitted, tmp_path: Path):
    save_model(tmp_path / "m", fitted.pipeline)
    manifest = tmp_path / "m" / "MLPIPEX.yaml"
    doc = yaml.safe_load(manifest.read_text())
    doc["skops_trusted_types"].append("builtins.eval")
    manifest.write_text(yaml.safe_dump(doc))
    with pytest.raises(Corrupt, match=r"builtins\.eval"):
        load_model(tmp_path / "m")


def test_without_the_recorded_trust_skops_refuses_the_tree(fitted: Fitted, tmp_path: Path):
    save_model(tmp_path / "m", fitted.pipeline)
    manifest = tmp_path / "m" / "MLPIPEX.yaml"
    doc = yaml.safe_load(manifest.read_text())
    doc["skops_trusted_types"] = []
    manifest.write_text(yaml.safe_dump(doc))
    with pytest.raises(Invalid, match=r"sklearn\.tree\._tree\.Tree"):
        load_model(tmp_path / "m")


def _unsafe_pipeline(fitted: Fitted) -> object:
    # A lambda cannot be restored by skops; only pickle-family formats can hold it.
    return make_pipeline(FunctionTransformer(lambda x: x * 2), LogisticRegression()).fit(
        fitted.X.to_numpy(), fitted.y
    )


def test_what_skops_cannot_save_asks_for_allow_pickle(fitted: Fitted, tmp_path: Path):
    with pytest.raises(Invalid, match="allow_pickle=True"):
        save_model(tmp_path / "m", _unsafe_pipeline(fitted))
    assert list(tmp_path.iterdir()) == []  # nothing left behind, not even the temp folder


def test_pickled_model_loads_only_with_allow_pickle(fitted: Fitted, tmp_path: Path):
    model = _unsafe_pipeline(fitted)
    info = save_model(tmp_path / "m", model, allow_pickle=True)
    assert info.pickle is True and info.model_file == "model.pkl"
    assert yaml.safe_load((tmp_path / "m" / "MLPIPEX.yaml").read_text())["pickle"] is True
    with pytest.raises(Invalid, match="pickled; loading it runs arbitrary code"):
        load_model(tmp_path / "m")
    X = fitted.X.to_numpy()
    loaded = load_model(tmp_path / "m", allow_pickle=True)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))  # type: ignore[attr-defined]
    assert read_package(tmp_path / "m").pickle is True
