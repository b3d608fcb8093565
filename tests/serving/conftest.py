"""Real models, saved once per session, and real `mlpipex serve` processes on 127.0.0.1 serving
them (started together, since each spends a second or two importing)."""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from mlpipex.flavors import save_model
from tests.conftest import mlpipex_cli

# Records one line per predict call (its row count) in $MLPIPEX_TEST_CALLS, refuses negative
# values, and sleeps so that concurrent requests pile up behind it.
COUNTING_MODEL = """
import os, time
import numpy as np
from mlpipex.pyfunc import PythonModel, set_model

class Counting(PythonModel):
    def predict(self, context, model_input, params=None):
        x = np.asarray(model_input, dtype=float)
        with open(os.environ.get("MLPIPEX_TEST_CALLS", os.devnull), "a") as f:
            f.write(f"{len(x)}\\n")
        if (x < 0).any():
            raise ValueError("negative input")
        time.sleep(0.05)
        return x.sum(axis=1) * float((params or {}).get("scale", 1.0))

set_model(Counting())
"""


@dataclass(frozen=True)
class Packages:
    lr: Path  # LogisticRegression on a numpy array: 4 unnamed float columns
    table: Path  # a pipeline on a DataFrame: amount (float), age (int), country (str)
    counting: Path  # the code model above: 2 float columns, answers the row sums
    X: np.ndarray
    frame: pd.DataFrame


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    root = tmp_path_factory.mktemp("serving-models")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4))
    lr = LogisticRegression().fit(X, (X[:, 0] + X[:, 2] > 0).astype(int))
    save_model(root / "lr", lr, input_example=X[:5])
    frame = pd.DataFrame(
        {
            "amount": rng.normal(100, 30, 300),
            "age": rng.integers(18, 90, 300),
            "country": rng.choice(["DE", "FR", "US"], 300),
        }
    )
    y = ((frame["amount"] > 100) ^ (frame["country"] == "US")).astype(int)
    pipeline = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["country"]), remainder="passthrough"),
        LogisticRegression(max_iter=500),
    ).fit(frame, y)
    save_model(root / "table", pipeline, input_example=frame.head(5))
    code = root / "src" / "counting.py"
    code.parent.mkdir()
    code.write_text(COUNTING_MODEL)
    save_model(root / "counting", python_model=code, input_example=np.array([[1.0, 2.0]]))
    return Packages(root / "lr", root / "table", root / "counting", X, frame)


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[str]
    calls: Path | None = None  # the counting model's call log

    def predict_calls(self) -> list[int]:
        assert self.calls is not None
        return [int(n) for n in self.calls.read_text().split()] if self.calls.exists() else []


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``mlpipex ARGS`` as a process of its own, printing its URL once it listens."""
    return subprocess.Popen(
        mlpipex_cli(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def url_of(proc: subprocess.Popen[str], timeout: float = 90.0) -> str:
    """The URL a starting `mlpipex serve` prints; fails with its stderr if it exits first."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if " on http://" in line:
                return line.split(" on ", 1)[1].split()[0]
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"mlpipex serve exited with {proc.returncode}: {err}")
    raise AssertionError(f"mlpipex serve printed no URL within {timeout}s")


def stop(proc: subprocess.Popen[str]) -> int:
    proc.terminate()
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=20)
        raise AssertionError("mlpipex serve did not stop on SIGTERM") from None


# The counting server's batches: 8 rows at most, waiting up to 500 ms to fill behind a busy model.
BATCHING = ("--max-batch", "8", "--max-wait-ms", "500")


@dataclass(frozen=True)
class Servers:
    lr: Server  # body limit 64 KiB
    table: Server
    counting: Server  # batches of 8 rows at most, waits up to 500 ms for a batch to fill


@pytest.fixture(scope="session")
def servers(packages: Packages, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    calls = tmp_path_factory.mktemp("calls") / "calls.txt"
    procs = {
        "lr": start(["serve", str(packages.lr), "--port", "0", "--max-body-mb", "0.0625"]),
        "table": start(["serve", str(packages.table), "--port", "0"]),
        "counting": start(
            ["serve", str(packages.counting), "--port", "0", "--allow-pickle", *BATCHING],
            env={"MLPIPEX_TEST_CALLS": str(calls)},
        ),
    }
    try:
        urls = {name: url_of(p) for name, p in procs.items()}
        yield Servers(
            Server(urls["lr"], procs["lr"]),
            Server(urls["table"], procs["table"]),
            Server(urls["counting"], procs["counting"], calls),
        )
    finally:
        for p in procs.values():
            stop(p)
