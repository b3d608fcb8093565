"""Every route of the OpenAPI schema, walked: a user with no grant on a model reads nothing of it,
and no route lets an anonymous caller or a viewer change anything. New routes are covered the
day they are added, so a forgotten check fails here rather than in production."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlpipex.client import Client
from mlpipex.server import ServerSettings, create_app
from mlpipex.service.context import Actor

MARK = "TOPSECRET"  # in every value stored about the hidden model; must never be answered
UNSAFE = {"post", "put", "patch", "delete"}

# Routes any signed-in user may call: they answer about the caller or filter by what it may read.
OPEN_TO_ANYONE = {
    ("get", "/health"),
    ("get", "/version"),
    ("get", "/api/v1/version"),
    ("get", "/ajax-api/3.0/mlflow/server-info"),
    ("get", "/api/3.0/mlflow/server-info"),
    ("get", "/api/v1/models"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("get", "/api/v1/endpoints"),
    ("get", "/api/2.0/mlflow/registered-models/search"),
    ("get", "/api/2.0/mlflow/model-versions/search"),
    # the workspaces the caller may enter (here: none but default)
    ("get", "/api/v1/workspaces"),
    ("get", "/api/3.0/mlflow/workspaces"),
}
# Unsafe methods that only read (searches sent as POST) or act on the caller's own account.
READS_BY_POST = {
    ("post", "/api/v1/objects/missing"),
    ("post", "/api/v1/tokens"),
    ("post", "/api/2.0/mlflow/experiments/search"),
    ("post", "/api/2.0/mlflow/runs/search"),
    ("post", "/api/2.0/mlflow/logged-models/search"),
    ("post", "/api/2.0/mlflow/registered-models/get-latest-versions"),
    ("post", "/api/2.0/mlflow/experiments/search-datasets"),
    ("post", "/api/3.0/mlflow/traces/search"),
    ("post", "/api/3.0/mlflow/traces/batchGetInfos"),
    ("post", "/api/3.0/mlflow/traces/metrics"),
    ("post", "/api/3.0/mlflow/traces/calculate-filter-correlation"),
    ("post", "/api/3.0/mlflow/datasets/search"),
}
# Bodies the generic filler cannot guess: a strict spec replaces it, typed fields are merged in.
BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("put", "/api/v1/endpoints"): {"name": "secret", "model": "secret", "follow": "production"},
    ("post", "/api/v1/agent/predictions"): {"endpoint": "secret", "rows": []},
}
TYPED: dict[tuple[str, str], dict[str, object]] = {
    ("post", "/api/2.0/mlflow/runs/log-metric"): {"value": 1.0, "timestamp": 1},
    ("post", "/api/2.0/mlflow/runs/log-model"): {"model_json": "{}"},
    ("patch", "/api/2.0/mlflow/logged-models/{model_id}"): {"status": "LOGGED_MODEL_READY"},
}


@dataclass(frozen=True)
class World:
    client: TestClient
    values: dict[str, str]
    headers: dict[str, dict[str, str]]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A hidden model with a version, alias, tags, policy, endpoint and run, all marked; a user
    with a grant on another model only; a global viewer."""
    admin = Client(str(tmp_path / ".mlpipex"), actor=Actor("root"))
    admin.create_model("mine")
    admin.create_model("secret", description=f"{MARK} model")
    relaxed = {"commit": False, "dataset": False, "metrics": False}
    admin.set_policy("secret", {"require": relaxed, "required_tags": {"Production": [MARK]}})
    weights = tmp_path / "m.bin"
    weights.write_bytes(f"{MARK} weights".encode())
    run = admin.create_run(run_name=f"{MARK}-run", commit="a" * 40)
    admin.log_param(run.id, "p", MARK)
    v = admin.register(
        "secret", weights, commit="b" * 40, tags={MARK: MARK}, description=f"{MARK} version"
    )
    admin.set_model_tag("secret", "k", MARK)
    admin.set_alias("secret", "champion", v.version)
    admin.promote("secret", v.version, "Production", reason=MARK)
    admin.apply_endpoint({"name": "secret", "model": "secret", "follow": "production"})
    admin.create_user("nogrant", [])
    admin.grant("nogrant", "mine", "admin")
    admin.create_user("viewer", ["viewer"])
    admin.create_user("root", ["admin"])
    token, _ = admin.create_token("root", "root's")
    headers = {
        who: {"Authorization": "Bearer " + admin.create_token(who)[1]}
        for who in ("nogrant", "viewer")
    }
    values = {
        "name": "secret",
        "model": "secret",
        "version": str(v.version),
        "alias": "champion",
        "key": "k",
        "value": "v",
        "ref": f"secret/{v.version}",
        "digest": v.files[0].digest,
        "run_id": run.id,
        "experiment_id": run.experiment_id,
        "model_id": "m-0",
        "trace_id": "tr-0",
        "assessment_id": "a-0",
        "dataset_id": "d-0",
        "token_id": token.id,
        "webhook_id": "1",
        "path": "model/m.bin",
        "stage": "Archived",
        "to_stage": "Archived",
        "filter": "name='secret'",
        "experiment_name": "Default",
        "metric_key": "m",
        "new_name": "renamed",
        "user": "nogrant",
    }
    admin.close()
    with TestClient(
        create_app(
            ServerSettings(store=str(tmp_path / ".mlpipex"), auth=True, enable_workspaces=True)
        )
    ) as c:
        yield World(c, values, headers)


def _routes(c: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    schema = c.app.openapi()  # type: ignore[attr-defined]
    return [(m, p, op) for p, ops in schema["paths"].items() for m, op in ops.items()]


def _body(op: dict[str, Any], schema: dict[str, Any], values: dict[str, str]) -> Any:
    """A plausible JSON body: declared fields filled from the world's values by name; the MLflow
    routes, which declare none, get every value (they read the fields they know)."""
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return dict(values)
    ref = content["schema"].get("$ref")
    if ref is None:
        return dict(values)
    declared = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    fields: dict[str, Any] = {}
    for field, spec in declared.get("properties", {}).items():
        kind = spec.get("type")
        if field in values:
            fields[field] = int(values[field]) if kind == "integer" else values[field]
        elif field in declared.get("required", []):
            fields[field] = {"integer": 1, "array": [], "object": {}}.get(kind, "x" * 16)
    return fields


def _call(w: World, method: str, path: str, op: dict[str, Any], who: str | None) -> Any:
    url = path.format(**w.values)
    schema = w.client.app.openapi()  # type: ignore[attr-defined]
    headers = w.headers[who] if who else {}
    if method in UNSAFE:
        body = BODIES.get((method, path)) or _body(op, schema, w.values)
        body = {**body, **TYPED.get((method, path), {})}
        return w.client.request(method, url, json=body, headers=headers)
    return w.client.request(method, url, params=w.values, headers=headers)


def test_a_user_without_a_grant_reads_nothing_of_a_model(world: World) -> None:
    refused, wrong = [], []
    for method, path, op in _routes(world.client):
        r = _call(world, method, path, op, "nogrant")
        leaked = MARK.lower() in r.text.lower()
        if (method, path) in OPEN_TO_ANYONE:
            ok = r.status_code < 300 and not leaked
        else:
            ok = r.status_code in (403, 404) and not leaked
            refused.append(path)
        if not ok:
            wrong.append(f"{method} {path}: {r.status_code} {r.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert "/api/v1/models/{name}/policy" in refused


def test_every_route_refuses_anonymous_and_viewer_writes(world: World) -> None:
    unsafe = [(m, p, op) for m, p, op in _routes(world.client) if m in UNSAFE]
    assert len(unsafe) > 60  # the walk sees the whole API
    wrong = []
    for method, path, op in unsafe:
        anonymous = _call(world, method, path, op, None)
        if anonymous.status_code != 401:
            wrong.append(f"anonymous {method} {path}: {anonymous.status_code}")
        if (method, path) in READS_BY_POST:
            continue
        viewer = _call(world, method, path, op, "viewer")
        if viewer.status_code not in (403, 404):
            wrong.append(f"viewer {method} {path}: {viewer.status_code} {viewer.text[:200]}")
    assert not wrong, "\n".join(wrong)
