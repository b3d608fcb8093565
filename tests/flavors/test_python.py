"""Models from code: the file and its artifacts travel in the package and run at load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlpipex.pyfunc
from mlpipex.errors import Invalid
from mlpipex.flavors import PythonModel, load_model, read_package, save_model, verify_package


def test_code_model_with_an_artifact_file(code_file: Path, tmp_path: Path):
    example = pd.DataFrame({"x": [1.0, 2.0]})
    info = save_model(
        tmp_path / "m",
        python_model=code_file,
        artifacts={"factor": code_file.parent / "factor.txt"},
        input_example=example,
    )
    assert info.flavor == "python" and info.model_file == "scaler_model.py"
    assert info.artifacts == {"factor": "artifacts/factor/factor.txt"}
    assert info.signature is not None and info.signature.outputs is not None
    # The package stands alone: the sources can go, and loading writes nothing into it.
    code_file.unlink()
    (code_file.parent / "factor.txt").unlink()
    model = load_model(tmp_path / "m", allow_pickle=True)
    pd.testing.assert_frame_equal(model.predict(example), example * 3)
    assert model.predict([{"x": 1.0}], params={"shift": 1.0})["x"].tolist() == [4.0]
    verify_package(tmp_path / "m")
    assert isinstance(model.raw, mlpipex.pyfunc.PythonModel)


def test_artifact_directory_and_predict_without_context(tmp_path: Path):
    weights = tmp_path / "weights"
    (weights / "layer").mkdir(parents=True)
    np.save(weights / "layer" / "w.npy", np.array([2.0, 10.0]))
    code = tmp_path / "dot.py"
    code.write_text(
        "import os\n"
        "import numpy as np\n"
        "from mlpipex.pyfunc import PythonModel, set_model\n"
        "\n"
        "class Dot(PythonModel):\n"
        "    def load_context(self, context):\n"
        "        self.w = np.load(os.path.join(context.artifacts['weights'], 'layer', 'w.npy'))\n"
        "\n"
        "    def predict(self, model_input, params=None):\n"
        "        return np.asarray(model_input) @ self.w\n"
        "\n"
        "set_model(Dot())\n"
    )
    save_model(
        tmp_path / "m",
        python_model=str(code),
        artifacts={"weights": weights},
        input_example=np.array([[1.0, 1.0]]),
    )
    assert read_package(tmp_path / "m").artifacts == {"weights": "artifacts/weights"}
    np.testing.assert_array_equal(
        load_model(tmp_path / "m", allow_pickle=True).predict([[1.0, 0.5]]), [7.0]
    )


def test_code_that_never_calls_set_model_is_refused(tmp_path: Path):
    code = tmp_path / "nothing.py"
    code.write_text("x = 1\n")
    with pytest.raises(Invalid, match=r"did not call mlpipex\.pyfunc\.set_model"):
        save_model(tmp_path / "m", python_model=code)
    assert not (tmp_path / "m").exists()


def test_failing_code_and_bad_artifact_names_are_refused(code_file: Path, tmp_path: Path):
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('no GPU')\n")
    with pytest.raises(Invalid, match="RuntimeError: no GPU"):
        save_model(tmp_path / "m", python_model=broken)
    with pytest.raises(Invalid, match="artifact name"):
        save_model(tmp_path / "m", python_model=code_file, artifacts={"../up": code_file})


def test_pyfunc_module_reexports_the_flavor_classes():
    assert mlpipex.pyfunc.PythonModel is PythonModel
    assert mlpipex.pyfunc.__all__ == ["PythonModel", "PythonModelContext", "set_model"]


def test_loading_code_needs_the_same_trust_as_a_pickle(code_file: Path, tmp_path: Path):
    save_model(
        tmp_path / "m",
        python_model=code_file,
        artifacts={"factor": code_file.parent / "factor.txt"},
    )
    # Loading runs the file: the package says so, as a pickled one does.
    assert read_package(tmp_path / "m").pickle is True
    ran = tmp_path / "ran"
    code_file.write_text(f"open({str(ran)!r}, 'w').close()\n" + code_file.read_text())
    save_model(
        tmp_path / "n",
        python_model=code_file,
        artifacts={"factor": code_file.parent / "factor.txt"},
    )
    ran.unlink()
    with pytest.raises(Invalid, match=r"allow_pickle=True \(--allow-pickle on the command line\)"):
        load_model(tmp_path / "n")
    assert not ran.exists()  # refused before a line of it ran
    assert load_model(tmp_path / "n", allow_pickle=True).predict(np.array([[1.0]])).tolist() == [
        [3.0]
    ]
    assert ran.exists()
