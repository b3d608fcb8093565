"""An in-process app over real SQLite (fast), with or without authentication."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlpipex.server import ServerSettings, create_app


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**settings: object) -> TestClient:
        app = create_app(ServerSettings(store=str(tmp_path / ".mlpipex"), **settings))  # type: ignore[arg-type]
        c = TestClient(app)
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)
