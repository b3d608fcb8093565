"""The native API's contract: shapes, validation, limits, uploads by digest."""

from __future__ import annotations

import os
from collections.abc import Callable

import blake3
from fastapi.testclient import TestClient

App = Callable[..., TestClient]


def _upload(c: TestClient, data: bytes) -> str:
    d = blake3.blake3(data).hexdigest()
    assert c.put(f"/api/v1/objects/{d}", content=data).status_code == 200
    return d


def _complete(files: list[dict[str, object]]) -> dict[str, object]:
    return {
        "files": files,
        "commit": "a" * 40,
        "metrics": {"auc": 0.9},
        "datasets": [{"name": "train", "uri": "s3://b/t", "digest": "md5:" + "0" * 32}],
    }


def test_openapi_health_and_errors_are_structured(make_app: App) -> None:
    c = make_app()
    assert c.get("/health").json()["status"] == "ok"
    paths = c.get("/openapi.json").json()["paths"]
    assert "/api/v1/models/{name}/versions/{version}/transitions" in paths
    assert c.get("/docs").status_code == 200
    missing = c.get("/api/v1/models/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    route = c.get("/api/v1/nothing-here")
    assert route.status_code == 404 and "no endpoint" in route.json()["error"]["message"]
    mlflow = c.get("/api/2.0/mlflow/nothing-here")
    assert mlflow.status_code == 404 and mlflow.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_validation_names_the_field(make_app: App) -> None:
    c = make_app()
    r = c.post("/api/v1/models", json={"name": "m", "description": 5})
    assert r.status_code == 400 and "description" in r.json()["error"]["message"]
    r = c.post("/api/v1/models/m/versions/1/transitions", json={})
    assert r.status_code == 400 and "to_stage" in r.json()["error"]["message"]


def test_bodies_over_the_limit_are_refused(make_app: App) -> None:
    c = make_app(max_body_mb=1)
    r = c.post(
        "/api/v1/models",
        content=b"{" + b" " * (2 * 2**20) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "TOO_LARGE"


def test_upload_is_verified_and_bad_bytes_leave_nothing(make_app: App, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = make_app()
    data = os.urandom(100_000)
    d = blake3.blake3(data).hexdigest()
    assert c.post("/api/v1/objects/missing", json={"digests": [d]}).json() == {"missing": [d]}
    bad = c.put(f"/api/v1/objects/{d}", content=data[:-1])
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "CORRUPT"
    assert c.post("/api/v1/objects/missing", json={"digests": [d]}).json() == {"missing": [d]}
    assert not list((tmp_path / ".mlpipex" / "objects" / "tmp").glob("*"))
    assert _upload(c, data) == d
    assert c.put(f"/api/v1/objects/{d}", content=data).json()["stored"] is False
    assert c.get(f"/api/v1/objects/{d}").content == data
    assert c.put("/api/v1/objects/..%2F..%2Fetc", content=b"x").status_code in (400, 404)


def test_upload_streamed_in_odd_pieces_is_stored_whole(make_app: App) -> None:
    c = make_app()
    data = os.urandom(9 * 2**20 + 123)  # over two of the server's 4 MB reads
    d = blake3.blake3(data).hexdigest()
    pieces = (data[i : i + 65_537] for i in range(0, len(data), 65_537))
    assert c.put(f"/api/v1/objects/{d}", content=pieces).json()["size"] == len(data)
    assert c.get(f"/api/v1/objects/{d}").content == data


def test_artifact_paths_cannot_escape(make_app: App) -> None:
    c = make_app()
    d = _upload(c, b"weights")
    for path in ("../evil", "/etc/passwd", "a/../../b"):
        r = c.post(
            "/api/v1/models/m/versions", json=_complete([{"path": path, "digest": d, "size": 7}])
        )
        assert r.status_code == 400 and "unsafe artifact path" in r.json()["error"]["message"]
    assert c.get("/api/v1/models").json()["items"] == []


def test_registration_through_the_api_follows_the_policy(make_app: App) -> None:
    c = make_app()
    d = _upload(c, b"weights")
    files = [{"path": "model.bin", "digest": d, "size": 7}]
    check = c.post("/api/v1/models/m/versions/check", json={"files": []})
    assert check.status_code == 400 and check.json()["error"]["code"] == "POLICY_VIOLATION"
    assert len(check.json()["error"]["reasons"]) == 3
    assert c.post("/api/v1/models/m/versions/check", json=_complete([])).status_code == 204
    absent = c.post(
        "/api/v1/models/m/versions", json=_complete([{"path": "x", "digest": "1" * 64, "size": 1}])
    )
    assert absent.status_code == 404
    v = c.post("/api/v1/models/m/versions", json=_complete(files))
    assert v.status_code == 201 and v.json()["version"] == 1
    pending = c.put(
        "/api/v1/models/m/policy", json={"policy": {"approvals": {"staging": {"count": 1}}}}
    )
    assert pending.status_code == 200
    r = c.post("/api/v1/models/m/versions/1/transitions", json={"to_stage": "Staging"})
    assert r.status_code == 202 and r.json()["status"] == "pending"
    done = c.post(
        "/api/v1/models/m/versions/1/approvals",
        json={"to_stage": "Staging"},
        headers={"X-MLPipeX-User": "bob"},
    )
    assert done.status_code == 200 and done.json()["version"]["stage"] == "Staging"
    assert c.get("/api/v1/resolve", params={"ref": "m:staging"}).json()["version"] == 1
    assert c.get("/api/v1/events/verify").json()["ok"] is True


def test_a_download_carries_each_security_header_once(make_app: App) -> None:
    c = make_app()
    path = "/api/2.0/mlflow-artifacts/artifacts/0/run/artifacts/page.html"
    assert c.put(path, content=b"<script>1</script>").status_code == 200
    r = c.get(path)
    for name in ("x-content-type-options", "x-frame-options", "content-security-policy"):
        assert len(r.headers.get_list(name)) == 1, (name, r.headers.get_list(name))
