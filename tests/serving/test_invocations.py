"""MLflow's scoring protocol against a real `mlpipex serve` process: every request format,
CSV, params, the version header, and errors that never take the server down."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from mlpipex.flavors import load_model
from mlpipex.serving import HEADER
from tests.serving.conftest import Packages, Servers


def _post(url: str, body: object, **kw: object) -> httpx.Response:
    return httpx.post(f"{url}/invocations", json=body, timeout=30, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def expected(packages: Packages) -> list[int]:
    return load_model(packages.lr).predict(packages.X[:3]).tolist()


def test_every_json_format_gives_the_models_predictions(
    servers: Servers, packages: Packages, expected: list[int]
):
    rows = packages.X[:3].tolist()
    names = ["0", "1", "2", "3"]
    bodies = [
        {"dataframe_split": {"data": rows}},
        {"dataframe_split": {"columns": names, "data": rows}},
        {"dataframe_records": [dict(zip(names, r, strict=True)) for r in rows]},
        {"instances": rows},
        {"inputs": rows},
        {"inputs": {n: [r[i] for r in rows] for i, n in enumerate(names)}},
    ]
    for body in bodies:
        r = _post(servers.lr.url, body)
        assert r.status_code == 200, (body, r.text)
        assert r.json() == {"predictions": expected}
        assert r.headers[HEADER] == str(packages.lr.resolve())


def test_csv_body(servers: Servers, packages: Packages, expected: list[int]):
    csv = "a,b,c,d\n" + "".join(",".join(map(repr, r)) + "\n" for r in packages.X[:3].tolist())
    r = httpx.post(
        f"{servers.lr.url}/invocations",
        content=csv,
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": expected}


def test_a_table_model_answers_records_and_names_a_missing_column(
    servers: Servers, packages: Packages
):
    frame = packages.frame.head(4)
    want = load_model(packages.table).predict(frame).tolist()
    r = _post(servers.table.url, {"dataframe_records": frame.to_dict(orient="records")})
    assert r.json() == {"predictions": want}
    split = {"columns": list(frame.columns), "data": frame.to_numpy().tolist()}
    assert _post(servers.table.url, {"dataframe_split": split}).json() == {"predictions": want}

    r = _post(servers.table.url, {"dataframe_records": [{"amount": 1.0, "country": "DE"}]})
    assert r.status_code == 400
    assert r.json()["error_code"] == "BAD_REQUEST"
    assert '"age"' in r.json()["message"]
    assert r.headers[HEADER] == str(packages.table.resolve())


def test_params_reach_the_model(servers: Servers):
    r = _post(servers.counting.url, {"inputs": [[1.0, 2.0]], "params": {"scale": 10}})
    assert r.json() == {"predictions": [30.0]}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"instances": [[1.0, 2.0, 3.0]]}, "expected 4 got 3"),
        ({"instances": [[1, 2, 3, 4]], "inputs": [[1, 2, 3, 4]]}, "exactly one of"),
        ({"rows": [[1, 2, 3, 4]]}, "exactly one of"),
        ([[1, 2, 3, 4]], "a list"),
        ({"dataframe_split": {"rows": [[1, 2, 3, 4]]}}, "'data'"),
        ({"instances": [[1, 2, 3, 4], [1, 2]]}, "same length"),
        ({"instances": [["a", "b", "c", "d"]]}, "not numeric"),
        ({"instances": [[1, 2, 3, 4]], "params": [1]}, '"params"'),
    ],
)
def test_bad_input_is_a_400_naming_the_problem(servers: Servers, body: object, needle: str):
    r = _post(servers.lr.url, body)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "BAD_REQUEST"
    assert needle in r.json()["message"]


def test_malformed_json_and_unknown_media_types(servers: Servers):
    url = f"{servers.lr.url}/invocations"
    json_type = {"Content-Type": "application/json"}
    r = httpx.post(url, content=b'{"instances": [[1, 2', headers=json_type)
    assert r.status_code == 400 and "not valid JSON" in r.json()["message"]
    r = httpx.post(url, content=b"\xff\xfe", headers=json_type)
    assert r.status_code == 400
    r = httpx.post(url, content=b"x", headers={"Content-Type": "application/xml"})
    assert r.status_code == 415 and "application/xml" in r.json()["message"]
    r = httpx.post(url, content=b"x", headers={"Content-Type": "text/csv; charset=latin-1"})
    assert r.status_code == 415


def test_oversized_body_is_413_and_the_server_goes_on(servers: Servers):
    big = {"instances": [[0.5, 0.5, 0.5, 0.5]] * 5000}  # ~120 KiB, the limit is 64 KiB
    r = _post(servers.lr.url, big)
    assert r.status_code == 413
    assert r.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert HEADER in r.headers

    def chunks():  # no Content-Length: counted while reading
        yield b'{"instances": ['
        for _ in range(5000):
            yield b"[0.5, 0.5, 0.5, 0.5],"
        yield b"[0.5, 0.5, 0.5, 0.5]]}"

    r = httpx.post(f"{servers.lr.url}/invocations", content=chunks())
    assert r.status_code == 413
    assert _post(servers.lr.url, {"instances": [[0.5] * 4]}).status_code == 200


def test_a_raising_model_is_a_500_with_its_message_and_the_server_goes_on(
    servers: Servers, packages: Packages
):
    r = _post(servers.counting.url, {"inputs": [[1.0, -2.0]]})
    assert r.status_code == 500
    assert r.json() == {"error_code": "INTERNAL_ERROR", "message": "ValueError: negative input"}
    assert r.headers[HEADER] == str(packages.counting.resolve())
    assert _post(servers.counting.url, {"inputs": [[1.0, 2.0]]}).json() == {"predictions": [3.0]}


def test_health_and_version_routes(servers: Servers):
    for path in ("/ping", "/health"):
        r = httpx.get(servers.lr.url + path)
        assert (r.status_code, r.text) == (200, "\n")
        assert HEADER in r.headers
    version = httpx.get(servers.lr.url + "/version").text
    assert version and version[0].isdigit()
    assert httpx.get(servers.lr.url + "/nope").status_code == 404
    assert httpx.get(f"{servers.lr.url}/invocations").status_code == 405


def test_predictions_of_a_single_row_match_numpy(servers: Servers, packages: Packages):
    row = np.array([[0.1, -0.2, 0.3, 0.4]])
    want = load_model(packages.lr).predict(row).tolist()
    assert _post(servers.lr.url, {"instances": row.tolist()}).json()["predictions"] == want
