"""The Ray runtime end to end: a real Ray cluster (2 CPUs, started here, one per module), a real
control plane, a real agent run with ``--runtime ray``, real requests to Serve's HTTP proxy on
the agent's port. The rollouts, the analysis and the rollback are the control plane's, as on
the local runtime: these tests check they work unchanged when the versions run on Ray."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port, wait_for
from tests.deploy.stack import SPEC, Load, Stack, fixed_split, rollout_and_rollback, served

pytestmark = pytest.mark.slow

# Each replica asks for a quarter CPU: two versions of two replicas, the ingress (no CPU) and
# Serve's proxy and controller fit in the 2 CPUs the cluster is given.
REPLICA = {"replicas": 2, "ray_actor_options": {"num_cpus": 0.25}}


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """``ray start --head`` on loopback, in a process group of its own so that every process
    it started is stopped at the end."""
    with pytest.MonkeyPatch.context() as env:
        # A cluster on loopback for this module only: no token file shared with other clusters
        # on the machine (the head and the agents inherit this).
        env.setenv("RAY_AUTH_MODE", "disabled")
        yield from _head()


def _head() -> Iterator[str]:
    port = free_port()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths are long
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("ray")),
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: _listening(port), 60, "the Ray head to listen")
        yield f"127.0.0.1:{port}"
    finally:
        # Ray's workers start sessions of their own: find them before their raylet goes.
        started = _descendants(proc.pid)
        _stop(proc.pid, started | {proc.pid})
        proc.wait(timeout=10)
        shutil.rmtree(temp, ignore_errors=True)


def _listening(port: int) -> bool:
    import socket

    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


def _descendants(pid: int) -> set[int]:
    """The processes started, directly or not, by pid (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _stop(head: int, started: set[int]) -> None:
    """SIGTERM to the head's process group and to every process it started, SIGKILL to those
    still running after 20 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head, signal.SIGTERM)
    for pid in started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(p) for p in started):
        time.sleep(0.2)
    for pid in started:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def agent_port() -> int:
    # Serve's HTTP proxy keeps the port of the first agent on the cluster: one for the module.
    return free_port()


@pytest.fixture
def stack(tmp_path: Path, ray_cluster: str, agent_port: int) -> Iterator[Stack]:
    s = Stack(tmp_path, "--runtime", "ray", "--ray-address", ray_cluster, port=agent_port)
    yield s
    s.close()


def test_production_is_served_by_two_replicas_and_scales_while_answering(stack: Stack) -> None:
    c = stack.client
    v1 = stack.model("os.getpid()")  # each replica answers with its own process id
    c.promote("m", v1, "Production")
    c.apply_endpoint({**SPEC, **REPLICA})
    stack.wait(lambda: served(stack, f"m/{v1}"), timeout=120)

    pids = wait_for(lambda: _pids(stack, 2), 60, "both replicas to answer")
    assert len(pids) == 2
    health = stack.http.get("/health").json()
    assert health["runtime"] == "ray" and health["endpoints"]["ep"]["notes"] == []
    assert c.endpoint_status("ep").notes  # the control plane says where resources apply

    load = Load(stack)
    c.apply_endpoint({**SPEC, "replicas": 1, "ray_actor_options": {"num_cpus": 0.25}})
    wait_for(lambda: len(_pids(stack, 1, n=40)) == 1, 60, "one replica left")
    seen = load.stop()
    assert seen and set(seen) == {(200, f"m/{v1}")}, seen  # no request failed while scaling


def _pids(stack: Stack, want: int, n: int = 60) -> set[Any] | None:
    seen = set()
    for _ in range(n):
        r = stack.http.post(
            "/endpoints/ep/invocations",
            json={"dataframe_split": {"columns": ["x"], "data": [[1.0]]}},
        )
        assert r.status_code == 200, r.text
        seen.add(r.json()["predictions"][0])
        if len(seen) > want:
            break
    return seen if len(seen) >= want else None


def test_a_good_canary_walks_to_100_and_a_broken_one_is_rolled_back(stack: Stack) -> None:
    v3 = rollout_and_rollback(stack, {**SPEC, **REPLICA}, timeout=120)
    d = stack.client.endpoint_status("ep").deployment
    assert d is not None and d.to_version == v3 and d.state == "rolled_back"
    # Judged on its first step's requests: within two analysis intervals of taking traffic.
    assert 1 <= len(d.analysis) <= 2 and not d.analysis[-1].passed


def test_a_fixed_split_is_observed_on_ray(stack: Stack) -> None:
    c = stack.client
    v1, v2, got = fixed_split(stack, {"ray_actor_options": {"num_cpus": 0.25}}, timeout=120)
    n = sum(got.values())
    # The counters reach the control plane as the local agent's do.
    wait_for(
        lambda: sum(s.requests_1m for s in c.endpoint_status("ep").stats.values()) >= n,
        30,
        "the agent's report",
    )
    v2_requests = c.endpoint_status("ep").stats[str(v2)].requests_1m
    assert v2_requests >= got[f"m/{v2}"]
    r = httpx.post(f"{stack.agent_url}/v2/models/ep/infer", json=_V2, timeout=10)
    assert r.status_code == 200 and r.headers["x-mlpipex-model-version"] in {f"m/{v1}", f"m/{v2}"}


_V2 = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]}]}
