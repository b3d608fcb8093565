"""An endpoint whose versions are XGBoost, LightGBM and CatBoost packages: a real agent process
downloads, loads and serves each, answering with the framework's own predictions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mlpipex.flavors import save_model
from tests.agent.conftest import ROW, AgentProcess, endpoint, version
from tests.agent.plane import ControlPlane
from tests.framework_models import COLUMNS, fitted_cases, training_frame

pytestmark = pytest.mark.slow


def test_one_endpoint_serves_each_framework(
    plane: ControlPlane, start_agent: Callable[..., AgentProcess], tmp_path: Path
) -> None:
    X, y = training_frame()
    cases = fitted_cases(X, y)
    names = {"xgb": "xgb-classifier", "lgb": "lgb-classifier", "cb": "cb-classifier"}
    specs, want = [], {}
    for number, (short, case) in enumerate(names.items(), start=1):
        pkg = tmp_path / short
        save_model(pkg, cases[case].model, input_example=X[:3])
        specs.append(endpoint(short, version(plane, pkg, number, 100)))
        row = X[:1].copy()
        row.loc[:, COLUMNS] = [ROW]
        want[short] = np.asarray(cases[case].framework_predict(row)).tolist()
    generation = plane.set(specs)
    agent = start_agent(plane.url)
    health = agent.wait_generation(generation)
    for number, short in enumerate(names, start=1):
        assert health["endpoints"][short]["versions"][str(number)]["loaded"] is True, health
    for short in names:
        r = agent.invoke(short)
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == want[short]
