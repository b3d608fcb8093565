"""The Open Inference Protocol v2 against a real `mlpipex serve` process: health, metadata from
the signature, and infer round trips whose outputs equal the model's own predictions."""

from __future__ import annotations

import httpx
import numpy as np

from mlpipex.flavors import load_model
from mlpipex.serving import HEADER
from tests.serving.conftest import Packages, Servers


def test_health_and_server_metadata(servers: Servers):
    url = servers.lr.url
    assert httpx.get(f"{url}/v2/health/live").json() == {"live": True}
    assert httpx.get(f"{url}/v2/health/ready").json() == {"ready": True}
    assert httpx.get(f"{url}/v2/models/lr/ready").json() == {"name": "lr", "ready": True}
    meta = httpx.get(f"{url}/v2").json()
    assert meta["name"] == "mlpipex" and meta["extensions"] == []


def test_model_metadata_comes_from_the_signature(servers: Servers):
    meta = httpx.get(f"{servers.lr.url}/v2/models/lr").json()
    assert meta == {
        "name": "lr",
        "versions": [],
        "platform": "sklearn",
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [{"name": "predict", "datatype": "INT64", "shape": [-1]}],
    }
    table = httpx.get(f"{servers.table.url}/v2/models/table").json()
    assert table["inputs"] == [
        {"name": "amount", "datatype": "FP64", "shape": [-1]},
        {"name": "age", "datatype": "INT64", "shape": [-1]},
        {"name": "country", "datatype": "BYTES", "shape": [-1]},
    ]


def test_infer_round_trip_equals_the_models_predictions(servers: Servers, packages: Packages):
    X = packages.X[:5]
    want = load_model(packages.lr).predict(X)
    tensor = {"name": "input-0", "shape": [5, 4], "datatype": "FP64", "data": X.ravel().tolist()}
    body = {"id": "req-7", "inputs": [tensor]}
    r = httpx.post(f"{servers.lr.url}/v2/models/lr/infer", json=body)
    assert r.status_code == 200, r.text
    assert r.headers[HEADER] == str(packages.lr.resolve())
    answer = r.json()
    assert answer["model_name"] == "lr" and answer["id"] == "req-7"
    [out] = answer["outputs"]
    assert out["name"] == "predict" and out["shape"] == [5] and out["datatype"] == "INT64"
    assert out["data"] == want.tolist()
    # Nested data is row-major too.
    tensor["data"] = X.tolist()
    assert httpx.post(f"{servers.lr.url}/v2/models/lr/infer", json=body).json() == answer


def test_infer_with_one_tensor_per_column(servers: Servers, packages: Packages):
    frame = packages.frame.head(6)
    want = load_model(packages.table).predict(frame)
    inputs = [
        {"name": "amount", "shape": [6], "datatype": "FP64", "data": frame["amount"].tolist()},
        {"name": "age", "shape": [6, 1], "datatype": "INT64", "data": frame["age"].tolist()},
        {"name": "country", "shape": [6], "datatype": "BYTES", "data": frame["country"].tolist()},
    ]
    r = httpx.post(f"{servers.table.url}/v2/models/table/infer", json={"inputs": inputs})
    assert r.status_code == 200, r.text
    assert "id" not in r.json()
    assert np.array_equal(r.json()["outputs"][0]["data"], want)
    r = httpx.post(
        f"{servers.table.url}/v2/models/table/infer",
        json={"inputs": [*inputs[:2], {**inputs[2], "name": "land"}]},
    )
    assert r.status_code == 400 and "'land'" in r.json()["error"]


def test_bad_requests_are_400_with_an_error_naming_the_field(servers: Servers):
    url = f"{servers.lr.url}/v2/models/lr/infer"
    tensor = {"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}
    cases = [
        ({"inputs": [{**tensor, "shape": [2, 4]}]}, "shape [2, 4] needs 8"),
        ({"inputs": [{**tensor, "datatype": "FP128"}]}, "unknown datatype 'FP128'"),
        ({"inputs": [{"name": "x", "datatype": "FP64", "data": [1]}]}, "inputs[0] has no 'shape'"),
        ({"inputs": [{**tensor, "shape": [1, 3], "data": [1, 2, 3]}]}, "expected 4 got 3"),
        ({"inputs": []}, "'inputs'"),
        ({"inputs": [tensor], "outputs": [{"name": "proba"}]}, "unknown output 'proba'"),
    ]
    for body, needle in cases:
        r = httpx.post(url, json=body)
        assert r.status_code == 400, (body, r.text)
        assert needle in r.json()["error"], r.json()
    r = httpx.post(url, content=b"{not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = httpx.post(f"{servers.lr.url}/v2/models/other/infer", json={"inputs": [tensor]})
    assert r.status_code == 404 and "'other'" in r.json()["error"]


def test_a_raising_model_is_a_500(servers: Servers):
    tensor = {"name": "input-0", "shape": [1, 2], "datatype": "FP32", "data": [1, -1]}
    r = httpx.post(f"{servers.counting.url}/v2/models/counting/infer", json={"inputs": [tensor]})
    assert r.status_code == 500 and r.json() == {"error": "ValueError: negative input"}
