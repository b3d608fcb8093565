"""A real control plane, a real agent following it, and a model registered as code: what the
deployment end-to-end tests drive (the local runtime's and the Ray runtime's)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from mlpipex.client import Client
from tests.conftest import free_port, mlpipex_cli, start_server, stop_server

MODEL = """
import itertools
import os
from mlpipex.pyfunc import PythonModel, set_model

class Constant(PythonModel):
    calls = itertools.count()

    def load_context(self, context):
        if {unloadable} and os.path.exists({sentinel!r}):
            raise RuntimeError("this version cannot load")

    def predict(self, context, model_input, params=None):
        if {broken} and len(model_input) == 1 and next(self.calls) % 2:
            raise RuntimeError("broken on every other call")
        return [{value}] * len(model_input)

set_model(Constant())
"""
ROW = {"dataframe_split": {"columns": ["x"], "data": [[1.0]]}}


def register_model(
    client: Client, root: Path, value: int | str, broken: bool = False, unloadable: bool = False
) -> int:
    """A version of model m answering value (a Python expression) for each row; broken, it
    fails every other call; unloadable, its loading raises once registered (saving the model
    loads it once)."""
    code = root / f"model_{len(list(root.glob('model_*.py')))}.py"
    sentinel = root / f"{code.stem}.registered"
    code.write_text(
        MODEL.format(value=value, broken=broken, unloadable=unloadable, sentinel=str(sentinel))
    )
    run = client.create_run(commit="c" * 40)
    data = root / "train.csv"
    data.write_text("x\n1\n")
    client.log_dataset(run.id, "train", str(data))
    client.log_metric(run.id, "auc", 0.9)
    import pandas as pd

    info = client.log_model(
        run.id,
        python_model=str(code),
        registered_model_name="m",
        input_example=pd.DataFrame({"x": [1.0, 2.0]}),
    )
    assert info.registered_model_version is not None
    sentinel.touch()
    return info.registered_model_version.version


def start_agent(
    url: str, port: int, name: str, cache_dir: Path, *extra: str
) -> subprocess.Popen[bytes]:
    """`mlpipex agent` following url, trusting code models (the versions here are), pulling and
    reporting every 0.2 s."""
    return subprocess.Popen(
        mlpipex_cli(
            "agent",
            "--control-plane",
            url,
            "--allow-pickle",
            "--port",
            str(port),
            "--name",
            name,
            "--cache-dir",
            str(cache_dir),
            "--poll-interval",
            "0.2s",
            "--report-interval",
            "0.2s",
            *extra,
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class Stack:
    def __init__(self, root: Path, *agent_args: str, port: int | None = None) -> None:
        self.root = root
        self.server, self.url = start_server(str(root / ".mlpipex"), str(root / "objects"))
        # the registry folder the server runs on, opened directly (tracking is not yet over HTTP)
        self.client = Client(str(root / ".mlpipex"), objects=str(root / "objects"), user="alice")
        port = port or free_port()
        self.agent = start_agent(self.url, port, "a1", root / "agent-cache", *agent_args)
        self.agent_url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.agent_url, timeout=10)

    def model(self, value: int | str, broken: bool = False, unloadable: bool = False) -> int:
        return register_model(self.client, self.root, value, broken, unloadable)

    def ask(self) -> tuple[int, str]:
        r = self.http.post("/endpoints/ep/invocations", json=ROW)
        return r.status_code, r.headers.get("x-mlpipex-model-version", "")

    def wait(self, what: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.1)

    def close(self) -> None:
        self.http.close()
        self.agent.terminate()
        self.agent.wait(timeout=20)
        self.client.close()
        stop_server(self.server)


class Load:
    """Requests in a background thread until stopped; what answered, counted."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.seen = stack, Counter[tuple[int, str]]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.seen[self.stack.ask()] += 1
            except httpx.HTTPError:
                self.seen[(0, "")] += 1
            time.sleep(0.005)

    def stop(self) -> Counter[tuple[int, str]]:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.seen


SPEC = {
    "name": "ep",
    "model": "m",
    "follow": "production",
    "rollout": {
        "strategy": "canary",
        "steps": [50, 100],
        "interval": "2s",
        "analysis": {"max_error_rate": 0.05, "min_requests": 20},
    },
}


def served(stack: Stack, label: str) -> bool:
    try:
        return stack.ask() == (200, label)
    except httpx.HTTPError:
        return False


def deployment_state(c: Client) -> str | None:
    d = c.endpoint_status("ep").deployment
    return None if d is None else d.state


def split_loaded(stack: Stack, versions: set[str]) -> bool:
    """The agent's /health lists these versions of ep, each loaded and given traffic."""
    try:
        health = stack.http.get("/health").json()
    except (httpx.HTTPError, ValueError):  # not listening yet, or not the agent's answer yet
        return False
    served = health.get("endpoints", {}).get("ep", {}).get("versions", {})
    return set(served) == versions and all(
        v["loaded"] and v["traffic_percent"] > 0 for v in served.values()
    )


def rollout_and_rollback(stack: Stack, spec: dict[str, Any], timeout: float = 60.0) -> int:
    """Promote v1 to an endpoint following Production, promote a good v2 under load (a canary
    step seen, then all of v2, every request answered), then a broken v3 (rolled back with the
    registry reverted and the rollback event, only the canary's share failed). Returns v3."""
    c = stack.client
    v1, v2, v3 = stack.model(1), stack.model(2), stack.model(3, broken=True)
    c.promote("m", v1, "Production")
    c.apply_endpoint(spec)
    stack.wait(lambda: served(stack, f"m/{v1}"), timeout)

    load = Load(stack)
    c.promote("m", v2, "Production")
    weights_seen = set()

    def done() -> bool:
        s = c.endpoint_status("ep")
        weights_seen.add(tuple((t.version, t.weight) for t in s.traffic))
        return s.deployment is not None and s.deployment.state == "succeeded"

    stack.wait(done, timeout)
    assert ((v1, 50), (v2, 50)) in weights_seen  # the canary step was observed
    stack.wait(lambda: served(stack, f"m/{v2}"), timeout)
    seen = load.stop()
    assert {label for (code, label) in seen if code == 200} <= {f"m/{v1}", f"m/{v2}"}
    assert seen[(200, f"m/{v2}")] > 0 and not [k for k in seen if k[0] not in (200,)]

    load = Load(stack)
    c.promote("m", v3, "Production")
    # (how fast a rollback comes is measured in bench/rollback.py, not asserted here)
    stack.wait(lambda: deployment_state(c) == "rolled_back", timeout)
    stack.wait(lambda: served(stack, f"m/{v2}"), timeout)
    seen = load.stop()
    assert c.get_version("m:production").version == v2
    (event,) = c.events(kind="rollback")
    assert event.version == v3 and "error rate" in event.reason
    failed = sum(n for (code, _), n in seen.items() if code != 200)
    assert 0 < failed < sum(seen.values()) / 2  # only the canary's share of requests failed
    return v3


def fixed_split(
    stack: Stack, extra: dict[str, Any] | None = None, timeout: float = 60.0
) -> tuple[int, int, Counter[str]]:
    """An endpoint with a fixed 90/10 split of v1 and v2: 1000 requests, all answered, v2's
    share within 5 sigma of 10 %. Returns v1, v2 and the labels that answered."""
    c = stack.client
    v1, v2 = stack.model(1), stack.model(2)
    c.apply_endpoint(
        {
            "name": "ep",
            "model": "m",
            "traffic": [{"version": v1, "weight": 90}, {"version": v2, "weight": 10}],
            **(extra or {}),
        }
    )
    stack.wait(lambda: split_loaded(stack, {str(v1), str(v2)}), timeout)
    n = 1000
    answers = Counter(stack.ask() for _ in range(n))
    got = Counter({label: k for (code, label), k in answers.items() if code == 200})
    assert got[f"m/{v1}"] + got[f"m/{v2}"] == n, answers
    share = got[f"m/{v2}"] / n
    # binomial(n=1000, p=0.1): standard deviation 0.0095; 5 sigma each way
    assert 0.1 - 0.0475 < share < 0.1 + 0.0475, got
    return v1, v2, got
