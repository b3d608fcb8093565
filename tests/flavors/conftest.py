"""Real fitted models and data shared by the flavor tests (fitted once: this machine is shared)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

COLUMNS = ["amount", "age", "score", "f3"]


@dataclass(frozen=True)
class Fitted:
    X: pd.DataFrame
    y: np.ndarray
    logistic: BaseEstimator  # fitted on a numpy array: no feature names
    pipeline: BaseEstimator  # fitted on the DataFrame: knows its feature names


@pytest.fixture(scope="session")
def fitted() -> Fitted:
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(400, len(COLUMNS))), columns=COLUMNS)
    y = ((X["amount"] + 0.5 * X["score"]) > 0).to_numpy().astype(int)
    logistic = LogisticRegression().fit(X.to_numpy(), y)
    pipeline = make_pipeline(
        StandardScaler(), RandomForestClassifier(n_estimators=8, max_depth=4, random_state=0)
    ).fit(X, y)
    return Fitted(X, y, logistic, pipeline)


@pytest.fixture
def code_file(tmp_path: Path) -> Path:
    """A models-from-code file that scales its input by a factor read from an artifact."""
    p = tmp_path / "src" / "scaler_model.py"
    p.parent.mkdir()
    p.write_text(
        "import mlpipex.pyfunc\n"
        "\n"
        "class Scaler(mlpipex.pyfunc.PythonModel):\n"
        "    def load_context(self, context):\n"
        "        with open(context.artifacts['factor']) as f:\n"
        "            self.factor = float(f.read())\n"
        "\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        shift = (params or {}).get('shift', 0.0)\n"
        "        return model_input * self.factor + shift\n"
        "\n"
        "mlpipex.pyfunc.set_model(Scaler())\n"
    )
    (tmp_path / "src" / "factor.txt").write_text("3\n")
    return p
