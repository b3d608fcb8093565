"""Bad input gets a 4xx that names the problem, never a 500 and never the server's own paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from mlpipex.client import Client
from mlpipex.errors import Unavailable
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
