"""Bad input gets a 4xx that names the problem, never a 500 and never the server's own paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlpipex.client import Client
from mlpipex.errors import Invalid, Unavailable
from mlpipex.service.context import Actor

App = Callable[..., TestClient]


def test_an_empty_user_update_changes_nothing(make_app: App) -> None:
    c = make_app()
    assert c.post("/api/v1/users", json={"name": "ann", "roles": ["editor"]}).status_code == 201
    r = c.patch("/api/v1/users/ann", json={})
    assert r.status_code == 200 and r.json()["roles"] == ["editor"]
    kinds = [e["kind"] for e in c.get("/api/v1/events").json()]
    assert kinds.count("user_updated") == 0


def test_a_database_failure_names_no_path(make_app: App, tmp_path: Path) -> None:
    c = make_app()

    @c.app.get("/api/v1/test-unavailable")  # type: ignore[attr-defined]
    def _down() -> None:
        raise Unavailable(f"database error on sqlite:///{tmp_path}/registry.db: disk I/O error")

    r = c.get("/api/v1/test-unavailable")
    assert r.status_code == 503 and str(tmp_path) not in r.text and "sqlite" not in r.text


def test_webhook_urls_in_the_event_log_are_for_admins_only(make_app: App, tmp_path: Path) -> None:
    url = "https://93.184.216.34/hook?token=s3cr3t-in-the-url"  # a literal: nothing is resolved
    with Client(str(tmp_path / ".mlpipex"), actor=Actor("root")) as admin:
        admin.create_webhook(url, ["*"], "a-secret-of-16-chars")
        admin.create_user("vic", ["viewer"])
        admin.create_user("root", ["admin"])
        as_vic = {"Authorization": "Bearer " + admin.create_token("vic")[1]}
        as_root = {"Authorization": "Bearer " + admin.create_token("root")[1]}
    c = make_app(auth=True)
    seen = c.get("/api/v1/events", params={"kind": "webhook_created"}, headers=as_vic).json()
    assert [e["payload"]["url"] for e in seen] == ["(redacted)"]
    assert "s3cr3t" not in c.get("/api/v1/events", headers=as_vic).text
    seen = c.get("/api/v1/events", params={"kind": "webhook_created"}, headers=as_root).json()
    assert [e["payload"]["url"] for e in seen] == [url]
    assert c.get("/api/v1/events/verify", headers=as_vic).json()["ok"] is True


def test_a_policy_naming_an_unknown_approval_role_is_refused_when_set(make_app: App) -> None:
    c = make_app()
    assert c.post("/api/v1/models", json={"name": "m"}).status_code == 201
    bad = {"policy": {"approvals": {"Production": {"count": 1, "role": "aprover"}}}}
    r = c.put("/api/v1/models/m/policy", json=bad)
    assert r.status_code == 400 and "aprover" in r.json()["error"]["message"], r.text
    r = c.post("/api/v1/models", json={"name": "n", "policy": bad["policy"]})
    assert r.status_code == 400
    assert c.get("/api/v1/models/m/policy").json()["approvals"] == {}


BIG = str(2**64)
OVERSIZED_NUMBERS = [
    ("GET", f"/api/v1/webhooks/{BIG}/deliveries", None),
    ("DELETE", f"/api/v1/webhooks/{BIG}", None),
    ("POST", f"/api/v1/webhooks/{BIG}/test", None),
    ("GET", f"/api/v1/models/m/versions/{BIG}", None),
    ("GET", f"/api/v1/models/m/versions/{2**31}/lineage", None),
    ("GET", f"/api/v1/endpoints/e/predictions?since_ms={BIG}", None),
    ("GET", f"/api/v1/endpoints/e/predictions?version={BIG}", None),
    ("GET", f"/api/v1/endpoints/e/timeseries?bucket_s={BIG}", None),
    ("GET", f"/api/v1/events?version={BIG}", None),
    ("GET", f"/api/v1/events?before={BIG}", None),
    ("PUT", "/api/v1/models/m/aliases/a", {"version": 2**64}),
    ("GET", f"/api/2.0/mlflow/model-versions/get?name=m&version={BIG}", None),
    (
        "POST",
        "/api/2.0/mlflow/registered-models/alias",
        {"name": "m", "alias": "a", "version": BIG},
    ),
]


def test_numbers_no_column_holds_are_refused_as_bad_input(make_app: App) -> None:
    c = make_app()
    assert c.post("/api/v1/models", json={"name": "m"}).status_code == 201
    for method, path, body in OVERSIZED_NUMBERS:
        r = c.request(method, path, json=body)
        assert r.status_code in (400, 422), (method, path, r.status_code, r.text)


def test_every_integer_a_request_carries_has_a_range(make_app: App) -> None:
    schema = make_app().app.openapi()  # type: ignore[attr-defined]
    components = schema["components"]["schemas"]
    unbounded: list[str] = []

    def walk(node: object, where: str, seen: frozenset[str]) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref not in seen:
                walk(components[ref.rsplit("/", 1)[-1]], where + ">" + ref, seen | {ref})
            if node.get("type") == "integer" and not {"minimum", "maximum"} <= node.keys():
                unbounded.append(where)
            for key, sub in node.items():
                walk(sub, f"{where}.{key}", seen)
        elif isinstance(node, list):
            for sub in node:
                walk(sub, where, seen)

    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            walk(
                [op.get("parameters", []), op.get("requestBody", {})],
                f"{method} {path}",
                frozenset(),
            )
    assert unbounded == []


def test_deeply_nested_json_is_refused_before_it_is_parsed(make_app: App) -> None:
    c = make_app()
    deep = "[" * 100_000 + "]" * 100_000
    obj = '{"a":' * 50_000 + "1" + "}" * 50_000
    for path, body in [
        ("/api/v1/agent/predictions", deep),
        ("/api/v1/endpoints", obj),
        ("/api/2.0/mlflow/runs/log-batch", '{"run_id": "x", "params": ' + obj + "}"),
        ("/api/v1/models", '{"name": "m", "policy": ' + "[" * 70 + "]" * 70 + "}"),
    ]:
        r = c.request("PUT" if path.endswith("endpoints") else "POST", path, content=body)
        assert r.status_code == 400 and "nested deeper than 64" in r.text, (path, r.text[:200])
    fine = '{"name": "ok", "description": "[[[[ {{{{ \\" [[[[", "tags": {"k": "v"}}'
    json_type = {"content-type": "application/json"}
    assert c.post("/api/v1/models", content=fine, headers=json_type).status_code == 201


def test_no_error_names_the_servers_own_folders(make_app: App, tmp_path: Path) -> None:
    c = make_app()
    missing = "0" * 64
    for r in (
        c.get(f"/api/v1/objects/{missing}"),
        c.get(f"/api/2.0/mlflow-artifacts/artifacts/registry/none/1/{missing}"),
    ):
        assert r.status_code == 404 and str(tmp_path) not in r.text, r.text
    assert "the object store" in c.get(f"/api/v1/objects/{missing}").text


def test_malformed_agent_reports_are_refused_as_bad_input(make_app: App) -> None:
    c = make_app()
    for bad in (
        {"agent": "a", "endpoints": {"x": [1]}},
        {"agent": "a", "endpoints": [1]},
        {"agent": "a", "generation": "zz"},
        {"agent": "a", "generation": 2**64},
        {"agent": "a", "endpoints": {"x": {"versions": {"v": {}}}}},
        {"agent": "a", "endpoints": {"x": {"versions": {"1": {"requests": 2**40}}}}},
        {"agent": "a", "endpoints": {"x": {"errors": "boom"}}},
        {"agent": 5},
    ):
        r = c.post("/api/v1/agent/report", json=bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID", (bad, r.text)
    good = {"agent": "a", "endpoints": {"x": {"versions": {"1": {"requests": 3}}}}}
    assert c.post("/api/v1/agent/report", json=good).status_code == 200
    assert [a["name"] for a in c.get("/api/v1/agents").json()] == ["a"]


def test_a_relative_object_folder_is_scrubbed_as_a_whole_path(
    make_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    c = make_app(objects="data")
    root = tmp_path / "data"

    @c.app.get("/api/v1/test-leak")  # type: ignore[attr-defined]
    def _leak() -> None:
        raise Invalid(f"cannot write {root}/ab/cd; dataset 'data' and {root}2 are fine")

    r = c.get("/api/v1/test-leak")
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        f"cannot write the object store/ab/cd; dataset 'data' and {root}2 are fine"
    )
