"""Failed sign-ins back off per user name and per client address, in the database (so replicas
count together), for Basic auth and the UI's form; unknown names cost what wrong passwords do."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from mlpipex.client import Client
from mlpipex.errors import Throttled, Unauthorized
from mlpipex.service.access import throttle
from mlpipex.service.access import users as access
from mlpipex.service.context import Actor
from tests.conftest import Backend

App = Callable[..., TestClient]
PASSWORD = "right-password"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def root(tmp_path: Path) -> str:
    uri = str(tmp_path / ".mlpipex")
    with Client(uri, actor=Actor("root")) as admin:
        admin.create_user("ann", ["viewer"], password=PASSWORD)
        admin.create_user("bob", ["viewer"], password=PASSWORD)
    return uri


def test_a_user_is_locked_after_a_few_failures_on_every_replica(make_app: App, root: str) -> None:
    one, two = make_app(auth=True), make_app(auth=True)  # two servers over one database
    free = throttle.FREE_ATTEMPTS["user"]
    for i in range(free):
        assert (one if i % 2 else two).get(
            "/api/v1/models", headers=basic("ann", "x" * 8)
        ).status_code == 401
    for server in (one, two):
        r = server.get("/api/v1/models", headers=basic("ann", PASSWORD))  # even the right one
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1, r.text
        assert r.json()["error"]["code"] == "THROTTLED"
    assert one.get("/api/v1/models", headers=basic("bob", PASSWORD)).status_code == 200
    with Client(root) as admin:  # ann's token still works: tokens cannot be guessed
        token = admin.create_token("ann", "ci")[1]
    assert one.get("/api/v1/models", headers=basic("ann", token)).status_code == 200
    r = two.get("/api/2.0/mlflow/experiments/search", headers=basic("ann", PASSWORD))
    assert r.status_code == 429 and r.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"


@pytest.fixture
def db(backend: Backend) -> Iterator[Client]:
    """ann and bob on SQLite and on PostgreSQL (the count is one upsert on either)."""
    with Client(backend.uri, objects=backend.objects, actor=Actor("root")) as admin:
        for name in ("ann", "bob"):
            admin.create_user(name, ["viewer"], password=PASSWORD)
        yield admin


@pytest.mark.direct
def test_the_lock_doubles_then_passes_and_success_clears_it(db: Client) -> None:
    now = [1_000_000]
    reg = db.registry
    reg.clock = lambda: now[0]
    free = throttle.FREE_ATTEMPTS["user"]
    for _ in range(free + 2):  # locked 1 s, then 2 s, then 4 s
        with pytest.raises(Unauthorized):
            access.authenticate_password(reg, "ann", "wrong-one", "10.0.0.1")
        now[0] += 60_000  # waits out each lock, still inside the window
    now[0] -= 60_000
    with pytest.raises(Throttled) as locked:
        access.authenticate_password(reg, "ann", PASSWORD, "10.0.0.2")
    assert locked.value.retry_after_s == 4
    now[0] += 4_000
    assert access.authenticate_password(reg, "ann", PASSWORD, "10.0.0.2").name == "ann"
    with pytest.raises(Unauthorized) as again:
        access.authenticate_password(reg, "ann", "wrong-one", "10.0.0.2")
    assert not isinstance(again.value, Throttled)  # the count started over


@pytest.mark.direct
def test_a_client_guessing_at_many_names_is_locked(db: Client) -> None:
    reg = db.registry
    for i in range(throttle.FREE_ATTEMPTS["client"]):
        with pytest.raises(Unauthorized):
            access.authenticate_password(reg, f"guess-{i}", "password", "10.9.9.9")
    with pytest.raises(Throttled):
        access.authenticate_password(reg, "ann", PASSWORD, "10.9.9.9")
    assert access.authenticate_password(reg, "ann", PASSWORD, "10.1.1.1").name == "ann"


def test_an_unknown_user_costs_the_same_scrypt_work(
    root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real = access.check_password
    monkeypatch.setattr(
        access, "check_password", lambda pw, stored: checked.append(stored) or real(pw, stored)
    )
    with Client(root) as c:
        for user in ("ann", "nobody"):
            with pytest.raises(Unauthorized):
                access.authenticate_password(c.registry, user, "wrong-password")
    params = [s.split("$")[:4] for s in checked]
    assert len(checked) == 2 and params[0] == params[1]  # the same scrypt cost for both


def test_the_ui_sign_in_is_throttled_too(make_app: App, root: str) -> None:
    from tests.server.ui.test_pages import csrf_of

    c = make_app(auth=True)

    def sign_in(password: str) -> Response:
        token = csrf_of(c.get("/ui/login").text)
        data = {"user": "ann", "password": password, "csrf": token, "next": "/"}
        return c.post("/ui/login", data=data, follow_redirects=False)

    failed = [sign_in("wrong-pass").status_code for _ in range(throttle.FREE_ATTEMPTS["user"])]
    assert failed == [401] * 5
    r = sign_in(PASSWORD)
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
