"""XGBoost and LightGBM models logged by the real mlflow client (``mlflow.xgboost.log_model``,
``mlflow.lightgbm.log_model``) to `mlpipex server`, then served by `mlpipex serve
models:/NAME/1` through our flavors (mlflow is never imported by the server or the model
server) with the framework's own predictions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.framework_models import COLUMNS, fitted_cases, training_frame
from tests.server.mlflow.conftest import Server, unique
from tests.serving.conftest import start, stop, url_of

# mlflow warns about its own type hints while logging; none of it is ours.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]


def _log_xgboost(model: Any, name: str, example: Any) -> None:
    import mlflow.xgboost

    mlflow.xgboost.log_model(model, name="model", registered_model_name=name, input_example=example)


def _log_lightgbm(model: Any, name: str, example: Any) -> None:
    import mlflow.lightgbm

    mlflow.lightgbm.log_model(
        model, name="model", registered_model_name=name, input_example=example
    )


@pytest.mark.parametrize(
    ("case", "log"), [("xgb-classifier", _log_xgboost), ("lgb-booster", _log_lightgbm)]
)
def test_mlflow_logged_model_is_served(
    case: str,
    log: Callable[[Any, str, Any], None],
    permissive: Server,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import mlflow

    X, y = training_frame()
    fitted = fitted_cases(X, y)[case]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", permissive.url)
    mlflow.set_tracking_uri(permissive.url)
    name = unique(case)
    with mlflow.start_run():
        log(fitted.model, name, X[:3])
    proc = start(
        ["--uri", permissive.url, "serve", f"models:/{name}/1", "--port", "0"],
        env={"HOME": str(tmp_path)},
    )
    try:
        base = url_of(proc)
        body = {"dataframe_split": {"columns": COLUMNS, "data": X[:8].to_numpy().tolist()}}
        r = httpx.post(f"{base}/invocations", json=body, timeout=60)
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(
            r.json()["predictions"], fitted.framework_predict(X[:8]), rtol=1e-6
        )
    finally:
        stop(proc)
