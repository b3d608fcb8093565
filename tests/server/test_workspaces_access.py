"""Who may enter a workspace: roles per workspace, tokens limited to one, and a workspace the
caller has no part in reported missing, as a model is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlpipex.client import Client
from mlpipex.service.context import Actor

App = Callable[..., TestClient]
WS = "X-MLFLOW-WORKSPACE"


@pytest.fixture
def org(make_app: App, tmp_path: Path) -> tuple[TestClient, dict[str, dict[str, str]]]:
    """Workspaces team-a and team-b; ann is editor in team-a only; vic views everything;
    limited is ann's token for team-a alone."""
    root = Client(str(tmp_path / ".mlpipex"), actor=Actor("root"))
    for ws in ("team-a", "team-b"):
        root.create_workspace(ws)
    root.create_user("ann", [])
    root.create_user("vic", ["viewer"])
    root.set_workspace_role("team-a", "ann", "editor")
    root.create_user("boss", ["admin"])
    tokens = {
        "ann": root.create_token("ann")[1],
        "vic": root.create_token("vic")[1],
        "boss": root.create_token("boss")[1],
        "limited": root.create_token("ann", "ci", workspace="team-a")[1],
    }
    root.close()
    c = make_app(auth=True, enable_workspaces=True)
    return c, {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}


def test_a_workspace_without_a_role_there_does_not_exist_for_the_caller(
    org: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    c, h = org
    made = c.post("/api/v1/models", json={"name": "fraud"}, headers={**h["ann"], WS: "team-a"})
    assert made.status_code == 201
    r = c.get("/api/v1/models", headers={**h["ann"], WS: "team-b"})
    assert r.status_code == 404 and r.json()["error"]["message"] == (
        "workspace 'team-b' does not exist"
    )
    missing = c.get("/api/v1/models", headers={**h["ann"], WS: "team-z"})
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "workspace 'team-z' does not exist"
    assert [w["name"] for w in c.get("/api/v1/workspaces", headers=h["ann"]).json()] == ["team-a"]
    everything = c.get("/api/v1/workspaces", headers=h["vic"]).json()
    assert [w["name"] for w in everything] == ["default", "team-a", "team-b"]
    # a viewer everywhere reads team-a's model but may not write there
    assert c.get("/api/v1/models/fraud", headers={**h["vic"], WS: "team-a"}).status_code == 200
    assert (
        c.post("/api/v1/models", json={"name": "x"}, headers={**h["vic"], WS: "team-a"}).status_code
        == 403
    )
    # ann has no role in default: she reads nothing there
    assert c.get("/api/v1/models/fraud", headers=h["ann"]).status_code == 404


def test_a_token_limited_to_one_workspace_is_refused_in_another(
    org: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    c, h = org
    assert (
        c.post(
            "/api/v1/models", json={"name": "fraud"}, headers={**h["limited"], WS: "team-a"}
        ).status_code
        == 201
    )
    # no header: the token's own workspace
    listed = c.get("/api/v1/models", headers=h["limited"]).json()
    assert [m["name"] for m in listed["items"]] == ["fraud"]
    for other in ("team-b", "default"):
        r = c.get("/api/v1/models", headers={**h["limited"], WS: other})
        assert r.status_code == 403 and "acts only in workspace 'team-a'" in r.text
    assert [w["name"] for w in c.get("/api/v1/workspaces", headers=h["limited"]).json()] == [
        "team-a"
    ]


def test_only_an_administrator_of_every_workspace_creates_workspaces_and_sets_quotas(
    org: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    c, h = org
    assert (
        c.post("/api/v1/workspaces", json={"name": "team-c"}, headers=h["ann"]).status_code == 403
    )
    assert (
        c.post("/api/v1/workspaces", json={"name": "team-c"}, headers=h["boss"]).status_code == 201
    )
    quota = {"models": 1}
    assert (
        c.put("/api/v1/workspaces/team-a/quotas", json=quota, headers=h["ann"]).status_code == 403
    )
    assert (
        c.put("/api/v1/workspaces/team-a/quotas", json=quota, headers=h["boss"]).status_code == 200
    )
    assert (
        c.post(
            "/api/v1/models", json={"name": "m1"}, headers={**h["ann"], WS: "team-a"}
        ).status_code
        == 201
    )
    r = c.post("/api/v1/models", json={"name": "m2"}, headers={**h["ann"], WS: "team-a"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "QUOTA_EXCEEDED"
    bad = c.put("/api/v1/workspaces/team-a/quotas", json={"models": -1}, headers=h["boss"])
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID"
    huge = c.put("/api/v1/workspaces/team-a/quotas", json={"bytes": 2**70}, headers=h["boss"])
    assert huge.status_code == 400 and huge.json()["error"]["code"] == "INVALID"


def test_a_server_without_workspaces_refuses_the_header(make_app: App) -> None:
    c = make_app()
    r = c.get("/api/v1/models", headers={WS: "team-a"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "FEATURE_DISABLED"
    assert c.get("/api/v1/models", headers={WS: "default"}).status_code == 200
    r = c.get("/api/3.0/mlflow/workspaces")
    assert r.status_code == 400 and r.json()["error_code"] == "FEATURE_DISABLED"


def test_an_admin_of_one_workspace_cannot_reach_beyond_it(
    org: tuple[TestClient, dict[str, dict[str, str]]], tmp_path: Path
) -> None:
    c, _ = org
    with Client(str(tmp_path / ".mlpipex"), actor=Actor("root")) as root:
        root.create_user("wanda", [])
        root.set_workspace_role("team-a", "wanda", "admin")
        wanda = {"Authorization": "Bearer " + root.create_token("wanda")[1], WS: "team-a"}
    # users, their global roles and other people's tokens span every workspace
    made = c.post("/api/v1/users", json={"name": "mole", "roles": ["admin"]}, headers=wanda)
    assert made.status_code == 403
    assert c.post("/api/v1/tokens", json={"user": "boss"}, headers=wanda).status_code == 403
    assert c.get("/api/v1/tokens", params={"user": "boss"}, headers=wanda).status_code == 403
    assert c.post("/api/v1/admin/fsck", headers=wanda).status_code == 403
    # within team-a she is admin: she gives roles there
    r = c.put("/api/v1/workspaces/team-a/members/vic", json={"role": "editor"}, headers=wanda)
    assert r.status_code == 200 and {"user": "vic", "role": "editor"} in r.json()
    refused = c.put("/api/v1/workspaces/team-b/members/vic", json={"role": "admin"}, headers=wanda)
    assert refused.status_code == 404
    # a viewer of team-b: her admin role in team-a does not carry over, from either workspace
    with Client(str(tmp_path / ".mlpipex"), actor=Actor("root")) as root:
        root.set_workspace_role("team-b", "wanda", "viewer")
        wanda = {"Authorization": "Bearer " + root.create_token("wanda")[1]}  # roles read anew
    for acting in ("team-a", "team-b"):
        as_member = {**wanda, WS: acting}
        put = c.put(
            "/api/v1/workspaces/team-b/members/wanda", json={"role": "admin"}, headers=as_member
        )
        assert put.status_code == 403
        patch = c.patch("/api/v1/workspaces/team-b", json={"description": "x"}, headers=as_member)
        assert patch.status_code == 403
    assert {"user": "wanda", "role": "viewer"} in c.get(
        "/api/v1/workspaces/team-b/members", headers={**wanda, WS: "team-b"}
    ).json()
    # made an admin of team-b, she manages it whichever workspace the request names
    with Client(str(tmp_path / ".mlpipex"), actor=Actor("root")) as root:
        root.set_workspace_role("team-b", "wanda", "admin")
        wanda = {"Authorization": "Bearer " + root.create_token("wanda")[1], WS: "team-a"}
    ok = c.put("/api/v1/workspaces/team-b/members/vic", json={"role": "viewer"}, headers=wanda)
    assert ok.status_code == 200 and {"user": "vic", "role": "viewer"} in ok.json()
    # a token limited to team-a acts for nobody else, even when its user is an admin everywhere
    with Client(str(tmp_path / ".mlpipex"), actor=Actor("root")) as root:
        boss_a = {"Authorization": "Bearer " + root.create_token("boss", workspace="team-a")[1]}
    assert c.get("/api/v1/workspaces/team-b", headers=boss_a).status_code == 404
    assert c.post("/api/v1/workspaces", json={"name": "team-x"}, headers=boss_a).status_code == 403
