"""Each framework flavor end to end through a control plane: a model trained here, logged and
registered through `mlpipex server`, served by `mlpipex serve models:/NAME/1` (micro-batching
on), answering /invocations and Open Inference Protocol v2 with the framework's predictions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from mlpipex.client import Client
from tests.framework_models import COLUMNS, Case, fitted_cases, training_frame
from tests.serving.conftest import start, stop, url_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained() -> tuple[pd.DataFrame, dict[str, Case]]:
    X, y = training_frame()
    return X, fitted_cases(X, y)


async def _many(url: str, bodies: list[dict[str, object]]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        return await asyncio.gather(*(http.post("/invocations", json=b) for b in bodies))


@pytest.mark.parametrize("name", ["xgb-classifier", "lgb-booster", "cb-classifier"])
def test_logged_through_a_server_and_served(
    name: str,
    trained: tuple[pd.DataFrame, dict[str, Case]],
    server: tuple[str, str, str],
    tmp_path: Path,
) -> None:
    X, cases = trained
    case = cases[name]
    url, _, _ = server
    model = f"fw-{name}"
    data = tmp_path / "train.csv"
    X.to_csv(data, index=False)
    with Client(url, user="alice") as client:
        run = client.create_run(commit="c" * 40)
        client.log_dataset(run.id, "train", str(data))
        client.log_metric(run.id, "auc", 0.9)
        info = client.log_model(
            run.id, case.model, registered_model_name=model, input_example=X[:3], reference_data=X
        )
        assert info.registered_model_version is not None
        number = info.registered_model_version.version
        assert client.get_version(f"{model}/{number}").flavor == case.flavor
    want = case.framework_predict(X[:6])
    serve = ["serve", f"models:/{model}/{number}", "--port", "0"]
    proc = start(
        ["--uri", url, *serve, "--max-batch", "8", "--max-wait-ms", "20"],
        env={"MLPIPEX_USER": "alice", "HOME": str(tmp_path)},
    )
    try:
        base = url_of(proc)
        body = {"dataframe_split": {"columns": COLUMNS, "data": X[:6].to_numpy().tolist()}}
        r = httpx.post(f"{base}/invocations", json=body, timeout=60)
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(r.json()["predictions"], want, rtol=1e-6)
        # One-row requests at once: the server batches them; each still gets its own answer.
        rows = [
            {"dataframe_split": {"columns": COLUMNS, "data": [row]}}
            for row in X[:6].to_numpy().tolist()
        ]
        replies = asyncio.run(_many(base, rows))
        got = [r.json()["predictions"][0] for r in replies]
        np.testing.assert_allclose(got, want, rtol=1e-6)
        inputs = [
            {"name": c, "shape": [6], "datatype": "FP64", "data": X[c][:6].tolist()}
            for c in COLUMNS
        ]
        v2 = httpx.post(f"{base}/v2/models/{model}/infer", json={"inputs": inputs}, timeout=60)
        assert v2.status_code == 200, v2.text
        [out] = v2.json()["outputs"]
        np.testing.assert_allclose(out["data"], want, rtol=1e-6)
    finally:
        stop(proc)
