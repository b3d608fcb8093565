"""The package on disk: manifest, digests, refusal of tampered files, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlpipex.errors import AlreadyExists, Corrupt, Invalid, NotFound
from mlpipex.flavors import (
    load_model,
    read_input_example,
    read_package,
    save_model,
    verify_package,
)
from mlpipex.objects.hashing import hash_file
from tests.flavors.conftest import Fitted


@pytest.fixture
def package(fitted: Fitted, tmp_path: Path) -> Path:
    save_model(
        tmp_path / "pkg",
        fitted.pipeline,
        reference_data=fitted.X,
        pip_requirements=["scikit-learn>=1.4", "lightgbm==4.5.0"],
    )
    return tmp_path / "pkg"


def test_manifest_lists_every_file_with_its_digest(package: Path):
    doc = yaml.safe_load((package / "MLPIPEX.yaml").read_text())
    assert doc["flavor"] == "sklearn" and doc["loader"] == "mlpipex.flavors.sklearn"
    listed = {f["path"]: (f["digest"], f["size"]) for f in doc["files"]}
    assert set(listed) == {"model.skops", "reference_profile.json"}
    for rel, (digest, size) in listed.items():
        assert hash_file(package / rel) == (digest, size)


def test_read_package_reports_signature_profile_and_requirements(package: Path, fitted: Fitted):
    info = read_package(package)
    assert info.signature is not None  # inferred from reference_data when no input_example
    assert info.signature.names == list(fitted.X.columns)
    assert info.profile is not None and info.profile["rows"] == len(fitted.X)
    assert [f["name"] for f in info.profile["features"]] == list(fitted.X.columns)
    # The user's requirement for a distribution replaces our pin of it.
    assert "scikit-learn>=1.4" in info.requirements and "lightgbm==4.5.0" in info.requirements
    assert not any(r.startswith("scikit-learn==") for r in info.requirements)
    assert any(r.startswith("numpy==") for r in info.requirements)


def test_tampered_file_is_refused_at_load(package: Path, fitted: Fitted):
    verify_package(package)
    profile = json.loads((package / "reference_profile.json").read_text())
    profile["rows"] = 1
    (package / "reference_profile.json").write_text(json.dumps(profile))
    with pytest.raises(Corrupt, match=r"reference_profile\.json was modified"):
        verify_package(package)
    with pytest.raises(Corrupt, match=r"reference_profile\.json"):
        load_model(package)
    # verify=False is the caller saying it checked the bytes some other way.
    loaded = load_model(package, verify=False)
    np.testing.assert_array_equal(loaded.predict(fitted.X), fitted.pipeline.predict(fitted.X))


def test_missing_and_unlisted_files_are_refused(package: Path):
    (package / "notes.txt").write_text("not in the manifest")
    with pytest.raises(Corrupt, match=r"notes\.txt is not listed"):
        verify_package(package)
    (package / "notes.txt").unlink()
    (package / "model.skops").unlink()
    with pytest.raises(Corrupt, match=r"model\.skops is missing"):
        load_model(package)


def test_manifest_paths_cannot_leave_the_package(package: Path):
    doc = yaml.safe_load((package / "MLPIPEX.yaml").read_text())
    doc["model"] = "../elsewhere/model.skops"
    (package / "MLPIPEX.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(Corrupt, match="outside the package"):
        read_package(package)


def test_unknown_model_type_is_refused_naming_type_and_flavors(tmp_path: Path):
    with pytest.raises(Invalid, match=r"builtins\.dict.*sklearn.*onnx.*python"):
        save_model(tmp_path / "m", {"weights": [1, 2]})
    with pytest.raises(Invalid, match="unknown flavor 'h2o'"):
        save_model(tmp_path / "m", {"weights": [1, 2]}, flavor="h2o")
    assert not (tmp_path / "m").exists()


def test_target_must_be_new_or_empty_and_failures_leave_nothing(fitted: Fitted, tmp_path: Path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(AlreadyExists):
        save_model(tmp_path / "full", fitted.logistic)
    (tmp_path / "empty").mkdir()
    assert save_model(tmp_path / "empty", fitted.logistic).flavor == "sklearn"
    with pytest.raises(Invalid, match="cannot predict on the example"):
        save_model(tmp_path / "bad", fitted.logistic, input_example=np.zeros((2, 3)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "full"]


def test_unverified_garbage_is_refused_in_our_error_tree(package: Path):
    (package / "model.skops").write_bytes(b"not a zip file")
    with pytest.raises(Corrupt, match="not a readable skops file"):
        load_model(package, verify=False)
    (package / "model.skops").unlink()
    with pytest.raises(NotFound, match=r"model\.skops is missing"):
        load_model(package, verify=False)


def test_input_example_is_stored_and_read_back(fitted: Fitted, tmp_path: Path):
    frame = fitted.X.head(3)
    info = save_model(tmp_path / "df", fitted.pipeline, input_example=frame)
    assert info.input_example == "input_example.json"
    pd.testing.assert_frame_equal(read_input_example(info), frame.reset_index(drop=True))
    arr = fitted.X.to_numpy()[:2]
    info = save_model(tmp_path / "np", fitted.logistic, input_example=arr)
    np.testing.assert_array_equal(read_input_example(info), arr)
    assert read_input_example(save_model(tmp_path / "none", fitted.logistic)) is None
