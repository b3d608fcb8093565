"""Real models saved once per session, a control-plane double per test, and real agent
processes on 127.0.0.1 following it."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from mlpipex.flavors import read_package, save_model
from tests.agent.plane import ControlPlane
from tests.conftest import mlpipex_cli, wait_for

# A model that fails on every request (it answers only while being saved, which predicts on the
# example): its errors must never reach a caller when it is a shadow.
FAILING_MODEL = """
import os
from mlpipex.pyfunc import PythonModel, set_model

class Failing(PythonModel):
    def predict(self, context, model_input, params=None):
        if os.environ.get("MLPIPEX_TEST_SAVING") != "1":
            raise RuntimeError("the shadow failed")
        return [0] * len(model_input)

set_model(Failing())
"""

ROW = [0.1, -0.2, 0.3, 0.4]


@dataclass(frozen=True)
class Packages:
    lr: Path  # LogisticRegression, 4 float columns
    lr2: Path  # another fit of it: other files, so another version
    lr3: Path
    failing: Path  # a code model that raises on every predict
    not_a_model: Path  # a folder that holds no model package


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    root = tmp_path_factory.mktemp("agent-models")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 4))
    for i, name in enumerate(("lr", "lr2", "lr3")):
        y = (X[:, i] + X[:, 3] > 0).astype(int)
        save_model(root / name, LogisticRegression().fit(X, y), input_example=X[:3])
    code = root / "src" / "failing.py"
    code.parent.mkdir()
    code.write_text(FAILING_MODEL)
    os.environ["MLPIPEX_TEST_SAVING"] = "1"
    try:
        save_model(root / "failing", python_model=code, input_example=X[:3])
    finally:
        del os.environ["MLPIPEX_TEST_SAVING"]
    (root / "junk").mkdir()
    (root / "junk" / "README").write_text("not a model\n")
    return Packages(root / "lr", root / "lr2", root / "lr3", root / "failing", root / "junk")


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[ControlPlane]:
    p = ControlPlane(tmp_path / "plane-objects")
    p.start()
    yield p
    p.stop()


def version(plane: ControlPlane, package: Path, number: int, weight: int) -> dict[str, Any]:
    # As the control plane does: a version is flagged when loading it runs code.
    pickled = (package / "MLPIPEX.yaml").is_file() and read_package(package).pickle
    return {"version": number, "weight": weight, "files": plane.files(package), "pickle": pickled}


def endpoint(name: str = "fraud", *versions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "model": extra.pop("model", name),
        "sticky_header": extra.pop("sticky_header", None),
        "versions": list(versions),
        "shadow": extra.pop("shadow", None),
    }


@dataclass
class AgentProcess:
    proc: subprocess.Popen[str]
    url: str
    line: str
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def health(self) -> dict[str, Any]:
        doc: dict[str, Any] = self.http.get("/health").json()
        return doc

    def invoke(self, name: str = "fraud", headers: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(
            f"/endpoints/{name}/invocations", json={"inputs": [ROW]}, headers=headers
        )

    def wait_generation(self, generation: int, timeout: float = 30) -> dict[str, Any]:
        doc: dict[str, Any] = wait_for(
            lambda: (h := self.health())["generation"] == generation and h,
            timeout,
            f"the agent to serve generation {generation}",
        )
        return doc

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            if self.proc.stdout:
                self.proc.stdout.close()


@pytest.fixture
def start_agent(tmp_path: Path) -> Iterator[Callable[..., AgentProcess]]:
    started: list[AgentProcess] = []

    def start(
        control_plane: str,
        *extra: str,
        cache_dir: Path | None = None,
        port: int = 0,
        name: str = "host-a",
    ) -> AgentProcess:
        cmd = mlpipex_cli("agent", "--control-plane", control_plane)
        cmd += ["--name", name]
        cmd += ["--port", str(port), "--cache-dir", str(cache_dir or tmp_path / "agent-cache")]
        cmd += ["--poll-interval", "0.2s", "--report-interval", "0.3s", *extra]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        line = ""
        while " serving on " not in line and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the agent exited with {proc.returncode}")
            if select.select([proc.stdout], [], [], 0.2)[0]:
                line = proc.stdout.readline()
        if " serving on " not in line:
            proc.kill()
            raise RuntimeError("the agent did not start within 60 s")
        url = line.split(" serving on ", 1)[1].split()[0]
        agent = AgentProcess(proc, url, line.strip())
        started.append(agent)
        wait_for(lambda: _answers(agent), 30, "the agent to answer /health")
        return agent

    yield start
    for agent in started:
        agent.stop(signal.SIGKILL)


def _answers(agent: AgentProcess) -> bool:
    try:
        return agent.http.get("/health").status_code == 200
    except httpx.TransportError:
        return False
