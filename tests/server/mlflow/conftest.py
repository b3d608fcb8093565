"""Real `mlpipex server` processes (SQLite, and PostgreSQL when MLPIPEX_TEST_POSTGRES_URL is
set) driven by the real mlflow client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_SERVER, postgres_database

MLPIPEX = str(Path(sys.executable).parent / "mlpipex")
KINDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(PG_SERVER is None, reason="MLPIPEX_TEST_POSTGRES_URL is not set"),
    ),
]


@dataclass
class Server:
    url: str
    store: str
    objects: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)


def unique(prefix: str) -> str:
    """A name no other test uses (the servers live for the session)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(store: str, objects: str, log: Path, *args: str) -> Server:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLPIPEX_")}
    cmd = [MLPIPEX, "--uri", store, "server", "--port", str(port), "--objects", objects, *args]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = Server(f"http://127.0.0.1:{port}", store, objects, proc, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlpipex server exited: {log.read_text()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"mlpipex server did not answer /health in 60 s: {log.read_text()}")


@pytest.fixture(scope="session")
def make_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """Start a server on a fresh store (a folder, or a PostgreSQL URL); stopped at the end."""
    started: list[Server] = []

    def make(store: str | None = None, *args: str) -> Server:
        d = tmp_path_factory.mktemp("mlflow-server")
        s = start_server(store or str(d / ".mlpipex"), str(d / "objects"), d / "server.log", *args)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture(scope="session")
def mlflow_pg() -> Iterator[str]:
    """A database of its own on the PostgreSQL server, for this session's server process."""
    with postgres_database(f"mlpipex_mlflow_{os.getpid()}") as url:
        yield url


@pytest.fixture(scope="session", params=KINDS)
def mlflow_server(request: pytest.FixtureRequest, make_server: Callable[..., Server]) -> Server:
    """A strict-policy server, one per backend for the session (tests use their own names)."""
    if request.param == "sqlite":
        return make_server()
    return make_server(request.getfixturevalue("mlflow_pg"))


@pytest.fixture(scope="session")
def permissive(make_server: Callable[..., Server]) -> Server:
    return make_server(None, "--policy", "permissive")


@pytest.fixture(scope="session")
def workspaces_pg() -> Iterator[str]:
    """A database of its own on the PostgreSQL server, for the workspaces server."""
    with postgres_database(f"mlpipex_mlflow_ws_{os.getpid()}") as url:
        yield url


@pytest.fixture(scope="session", params=KINDS)
def workspaces_server(request: pytest.FixtureRequest, make_server: Callable[..., Server]) -> Server:
    """A permissive server with --enable-workspaces, one per backend for the session, shared by
    the workspace tests of tracking and the registry (each makes workspaces of its own names)."""
    store = request.getfixturevalue("workspaces_pg") if request.param == "postgresql" else None
    return make_server(store, "--enable-workspaces", "--policy", "permissive")


@pytest.fixture(autouse=True)
def _mlflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A failing call must fail at once, not after MLflow's retries with backoff.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")


@pytest.fixture
def tracking(mlflow_server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The mlflow library pointed at the server, as a user would with set_tracking_uri."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    mlflow.set_tracking_uri(mlflow_server.url)
    yield mlflow_server.url
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture
def client(tracking: str) -> object:
    from mlflow import MlflowClient

    return MlflowClient(tracking)
