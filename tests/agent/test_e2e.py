"""The agent against a real `mlpipex server`: an endpoint applied on the control plane is
served (sticky, with a shadow), the agent's reports reach the endpoint's status, and the agent
outlives the control plane and its own restart."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlpipex.client import Client
from tests.agent.conftest import AgentProcess, Packages, wait_for
from tests.conftest import start_server, stop_server

pytestmark = pytest.mark.slow
HEADER = "x-mlpipex-model-version"


@pytest.fixture
def registry(tmp_path: Path, packages: Packages) -> Iterator[tuple[Client, str, Any]]:
    """(a client on the registry folder, the URL of a server on it, the server process)."""
    root = tmp_path / "cp"
    client = Client(str(root / ".mlpipex"), objects=str(root / "objects"), user="alice")
    train = tmp_path / "train.csv"
    train.write_text("x,y\n1,0\n")
    for package in (packages.lr, packages.lr2):
        client.register(
            "fraud", package, commit="a" * 40, datasets={"train": str(train)}, metrics={"auc": 0.9}
        )
    proc, url = start_server(str(root / ".mlpipex"), str(root / "objects"))
    yield client, url, proc
    if proc.poll() is None:
        stop_server(proc)
    client.close()


def test_real_control_plane(
    registry: tuple[Client, str, Any],
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
) -> None:
    client, url, server = registry
    client.apply_endpoint(
        {
            "name": "fraud",
            "model": "fraud",
            "traffic": [{"version": 1, "weight": 100}],
            "shadow": {"version": 2, "percent": 100},
            "sticky_header": "X-User-Id",
        }
    )
    cache = tmp_path / "agent-cache"
    agent = start_agent(url, cache_dir=cache, name="e2e")
    wait_for(lambda: agent.health()["endpoints"].get("fraud"), 60, "the endpoint")
    health = agent.health()
    assert health["endpoints"]["fraud"]["shadow"]["loaded"] is True
    for i in range(40):
        r = agent.invoke(headers={"X-User-Id": f"user-{i}"})
        assert r.status_code == 200, r.text
        assert r.headers[HEADER] == "fraud/1"

    def counted() -> bool:
        stats = client.endpoint_status("fraud").stats
        return stats["1"].requests_1m == 40

    wait_for(counted, 20, "the control plane to count the agent's requests")
    (seen,) = [a for a in httpx.get(f"{url}/api/v1/agents").json() if a["name"] == "e2e"]
    assert seen["url"] == agent.url
    assert seen["generation"] == health["generation"]
    assert seen["errors"] == []

    # The control plane goes away: the agent keeps serving, and so does a restarted agent.
    stop_server(server)
    assert agent.invoke().headers[HEADER] == "fraud/1"
    agent.stop(signal.SIGKILL)
    again = start_agent(url, cache_dir=cache, name="e2e")
    wait_for(lambda: again.health()["endpoints"].get("fraud"), 60, "the saved endpoint")
    assert again.health()["pull_error"] is not None
    assert again.invoke().headers[HEADER] == "fraud/1"
