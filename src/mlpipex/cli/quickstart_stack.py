"""The serving half of `mlpipex quickstart`: `mlpipex up` on the scratch registry, traffic
from the test set, and the second model, trained and logged through the SDK."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from mlpipex.errors import Unavailable

TRAIN_RF_PY = '''\
"""Train a random forest on the same data and log it with the SDK (written by the quickstart)."""
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

import mlpipex

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
features = [c for c in train.columns if c != "label"]
with mlpipex.start_run(experiment="fraud", run_name="random-forest"):
    params = {"n_estimators": 60, "max_depth": 8}
    mlpipex.log_params(params)
    mlpipex.log_dataset("train", "data/train.csv")
    mlpipex.log_dataset("test", "data/test.csv")
    model = RandomForestClassifier(random_state=0, **params).fit(train[features], train["label"])
    auc = roc_auc_score(test["label"], model.predict_proba(test[features])[:, 1])
    mlpipex.log_metric("auc", auc)
    info = mlpipex.log_model(model, "model", registered_model_name="fraud-detector",
                             reference_data=train[features], input_example=train[features][:5])
    print(info.registered_model_version.version, auc)
'''


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """`mlpipex up` as a child process on free ports, stopped on exit."""

    def __init__(self, registry: Path) -> None:
        self.registry = registry
        self.cp_port, self.agent_port = _port(), _port()
        self.url = f"http://127.0.0.1:{self.cp_port}"
        self.agent_url = f"http://127.0.0.1:{self.agent_port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Stack:
        env = {**os.environ, "MLPIPEX_URI": str(self.registry)}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlpipex.cli",
                "up",
                "--port",
                str(self.cp_port),
                "--agent-port",
                str(self.agent_port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise Unavailable("`mlpipex up` exited early; run it by hand to see why")
            try:
                if httpx.get(f"{self.agent_url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise Unavailable("`mlpipex up` did not start within 90 s")
            time.sleep(0.2)

    def __exit__(
        self, *exc: tuple[type[BaseException], BaseException, TracebackType] | None
    ) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)


class Traffic:
    """Requests to an endpoint, one row of the test set each, from a background thread."""

    def __init__(self, agent_url: str, endpoint: str, rows: list[dict[str, Any]]) -> None:
        self.url = f"{agent_url}/endpoints/{endpoint}/invocations"
        self.rows, self.seen = rows, Counter[str]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as http:
            i = 0
            while not self._stop.is_set():
                row = self.rows[i % len(self.rows)]
                i += 1
                try:
                    r = http.post(self.url, json={"dataframe_records": [row]})
                    self.seen[r.headers.get("x-mlpipex-model-version", str(r.status_code))] += 1
                except httpx.HTTPError:
                    self.seen["unreachable"] += 1
                time.sleep(0.01)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise Unavailable(f"timed out waiting for {what}")
        time.sleep(0.2)
