"""ModelServer as the deployment agent will use it: several versions in one process, each with
its own header and counters, served by uvicorn on 127.0.0.1 in a thread of the test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import uvicorn

from mlpipex.flavors import load_model
from mlpipex.serving import HEADER, BatchConfig, ModelServer, ServedModel, bind
from mlpipex.serving.app import REQUEST_ID
from tests.serving.conftest import Packages


@pytest.fixture
def two_versions(packages: Packages) -> Iterator[tuple[str, ModelServer]]:
    v1 = ServedModel(load_model(packages.lr), name="fraud", version="1")
    v2 = ServedModel(
        load_model(packages.counting, allow_pickle=True),
        name="fraud",
        version="2",
        batch=BatchConfig(max_rows=1),
    )
    app = ModelServer([v1, v2])
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(
        uvicorn.Config(app, loop="uvloop", http="httptools", log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", app
    server.should_exit = True
    thread.join(timeout=30)
    sock.close()


def test_versions_answer_by_path_with_their_own_header_and_counters(
    two_versions: tuple[str, ModelServer], packages: Packages
):
    url, app = two_versions
    lr = {"name": "input-0", "shape": [2, 4], "datatype": "FP64", "data": packages.X[:2].tolist()}
    r1 = httpx.post(f"{url}/v2/models/fraud/versions/1/infer", json={"inputs": [lr]})
    assert r1.headers[HEADER] == "fraud/1" and r1.json()["model_version"] == "1"
    want = load_model(packages.lr).predict(packages.X[:2]).tolist()
    assert r1.json()["outputs"][0]["data"] == want

    pair = {"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": [2.0, 3.0]}
    r2 = httpx.post(f"{url}/v2/models/fraud/versions/2/infer", json={"inputs": [pair]})
    assert r2.headers[HEADER] == "fraud/2" and r2.json()["outputs"][0]["data"] == [5.0]
    bad = httpx.post(f"{url}/v2/models/fraud/versions/2/infer", json={"inputs": [lr]})
    assert bad.status_code == 400 and bad.headers[HEADER] == "fraud/2"
    assert httpx.get(f"{url}/v2/models/fraud/versions/3").status_code == 404
    # Without a version, the first one served under the name answers, as /invocations does.
    meta = httpx.get(f"{url}/v2/models/fraud").json()
    assert meta["versions"] == ["1"] and meta["inputs"][0]["shape"] == [-1, 4]
    r = httpx.post(f"{url}/invocations", json={"instances": packages.X[:2].tolist()})
    assert r.headers[HEADER] == "fraud/1" and r.json() == {"predictions": want}

    m1, m2 = (app.find("fraud", v).metrics for v in ("1", "2"))
    assert (m1.requests, m1.errors, m1.predict_calls, m1.predicted_rows) == (2, 0, 2, 4)
    assert (m2.requests, m2.client_errors, m2.server_errors, m2.predict_calls) == (2, 1, 0, 1)
    snap = m1.snapshot()
    assert snap["latency_ms"]["count"] == 2 and sum(snap["latency_ms"]["counts"]) == 2
    assert 0 < m1.latency.quantile(0.5) < np.inf


def test_every_response_carries_a_request_id_and_keeps_the_callers(
    two_versions: tuple[str, ModelServer], packages: Packages
):
    url, _ = two_versions
    rid = REQUEST_ID
    rows = {"inputs": packages.X[:1].tolist()}
    fresh = [httpx.post(f"{url}/invocations", json=rows).headers[rid] for _ in range(2)]
    assert len(set(fresh)) == 2 and all(len(i) == 32 for i in fresh)
    kept = httpx.post(f"{url}/invocations", json=rows, headers={rid: "order-42:a"})
    assert kept.status_code == 200 and kept.headers[rid] == "order-42:a"
    assert httpx.get(f"{url}/ping").headers[rid]
    failed = httpx.post(f"{url}/invocations", json={"nope": 1}, headers={rid: "r-1"})
    assert failed.status_code == 400 and failed.headers[rid] == "r-1"
    refused = httpx.post(f"{url}/invocations", json=rows, headers={rid: "x" * 129})
    assert refused.status_code == 400 and "Request-Id" in refused.json()["message"]
    v2 = httpx.get(f"{url}/v2/models/fraud", headers={rid: "a b"})
    assert v2.status_code == 400 and "Request-Id" in v2.json()["error"]
