"""Webhooks against a real receiver on loopback: signed, retried, logged; no private targets
unless allowed; secrets never stored in clear."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import wait_for

App = Callable[..., TestClient]
SECRET = "a-long-webhook-secret-value"


class Receiver:
    def __init__(self, fail_first: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.requests) >= n, f"got {len(self.requests)} deliveries, wanted {n}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=1)
    yield r
    r.server.shutdown()


def test_deliveries_are_signed_retried_and_logged(
    make_app: App, receiver: Receiver, tmp_path: Path
) -> None:
    c = make_app(allow_private_webhooks=True)
    hook = c.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "events": ["model_created"], "secret": SECRET},
    )
    assert hook.status_code == 201
    wid = hook.json()["id"]
    assert c.post("/api/v1/models", json={"name": "fraud"}).status_code == 201
    c.post("/api/v1/models/fraud/tags/team", json={"value": "risk"})  # not subscribed
    receiver.wait(2)  # the first attempt got a 500, the retry a 204
    first, retry = receiver.requests[:2]
    assert first["body"] == retry["body"]
    event = json.loads(retry["body"])
    assert (event["kind"], event["model"]) == ("model_created", "fraud")
    h = retry["headers"]
    expected = hmac.new(
        SECRET.encode(), h["X-MLPipeX-Timestamp"].encode() + b"." + retry["body"], hashlib.sha256
    ).hexdigest()
    assert h["X-MLPipeX-Signature"] == f"sha256={expected}"
    assert h["X-MLPipeX-Event"] == "model_created"
    log = wait_for(
        lambda: [
            d
            for d in c.get(f"/api/v1/webhooks/{wid}/deliveries").json()
            if d["status"] == "delivered"
        ],
        20,
        "the delivery to be logged as delivered",
    )
    assert len(c.get(f"/api/v1/webhooks/{wid}/deliveries").json()) == 1
    assert log[0]["attempts"] == 2
    assert len(receiver.requests) == 2  # one event subscribed, one delivery, no duplicates
    db = "\n".join(sqlite3.connect(tmp_path / ".mlpipex" / "registry.db").iterdump())
    assert SECRET not in db


def test_test_send_and_private_addresses(make_app: App, receiver: Receiver) -> None:
    strict = make_app()
    refused = strict.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["*"], "secret": SECRET}
    )
    assert refused.status_code == 400 and "private address" in refused.json()["error"]["message"]
    bad_kind = strict.post(
        "/api/v1/webhooks",
        json={"url": "https://example.invalid/h", "events": ["nope"], "secret": SECRET},
    )
    assert bad_kind.status_code == 400
    c = make_app(allow_private_webhooks=True)
    wid = c.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": ["*"], "secret": SECRET}
    ).json()["id"]
    assert c.post(f"/api/v1/webhooks/{wid}/test").json() == {"status": 500}  # fail_first
    assert c.post(f"/api/v1/webhooks/{wid}/test").json() == {"status": 204}
    assert receiver.requests[-1]["headers"]["X-MLPipeX-Event"] == "webhook_test"


def test_cli_webhooks_on_an_embedded_registry(cli, receiver: Receiver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {"MLPIPEX_URI": str(tmp_path / ".mlpipex"), "MLPIPEX_ALLOW_PRIVATE_WEBHOOKS": "true"}
    r = cli(
        "webhooks", "create", receiver.url, "--events", "model_created", "--secret", SECRET, env=env
    )
    assert r.code == 0, r.err
    assert (tmp_path / ".mlpipex" / "secret.key").stat().st_mode & 0o777 == 0o600
    assert cli("models", "create", "m", env=env).code == 0
    out = cli("webhooks", "deliver", env=env)
    assert out.code == 0 and "delivered 0" in out.out  # the receiver failed the first one
    assert "pending" in cli("webhooks", "deliveries", "1", env=env).out
    assert cli("webhooks", "list", env=env).out.count(receiver.url) == 1
