"""Bad input gets a 4xx that names the problem, never a 500 and never the server's own paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from mlpipex.errors import Unavailable

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
