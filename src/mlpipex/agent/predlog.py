"""The agent's side of the prediction log: the request path only appends the raw request and
response (a deque append, no parsing) when the sample and the rate limit allow; a background
flush parses them with the serving protocol's own decoder, one log row per input row, and posts
batches to the control plane, which writes them as Parquet objects."""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlpipex.client.http import Http
from mlpipex.errors import MLPipeXError
from mlpipex.serving import codec, invocations

log = logging.getLogger("mlpipex.agent")
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Captured:
    endpoint: str
    version: int
    time_ms: int
    latency_ms: float
    status: int
    mime: str
    body: bytes
    answer: bytes
    request_id: str = ""


class PredictionLog:
    """Sampled requests, bounded in memory and in rate, flushed off the request path."""

    def __init__(
        self, sample_rate: float = 1.0, max_per_second: float = 200.0, capacity: int = 20_000
    ) -> None:
        self.sample_rate, self.max_per_second = sample_rate, max_per_second
        self._queue: deque[Captured] = deque(maxlen=capacity)
        self._tokens, self._last = max_per_second, time.monotonic()
        self.dropped = 0
        self.rates: dict[str, float] = {}  # per endpoint, from its monitoring.sample_rate

    def wants(self, endpoint: str) -> bool:
        """Whether to capture the next request: in the sample and within the rate limit, both
        decided before anything is copied, so requests past the limit cost nothing more."""
        rate = self.rates.get(endpoint, self.sample_rate)
        if rate <= 0.0 or (rate < 1.0 and random.random() >= rate):
            return False
        # Called on the event loop only, so the bucket needs no lock.
        now = time.monotonic()
        self._tokens = min(
            self.max_per_second, self._tokens + (now - self._last) * self.max_per_second
        )
        self._last = now
        if self._tokens < 1:
            self.dropped += 1
            return False
        self._tokens -= 1
        return True

    def record(
        self,
        endpoint: str,
        version: int,
        latency_ms: float,
        status: int,
        mime: str,
        body: bytes,
        answer: bytes,
        request_id: str = "",
    ) -> None:
        """After the answer: keep a captured request if it succeeded."""
        if status == 200:
            self._queue.append(
                Captured(
                    endpoint,
                    version,
                    int(time.time() * 1000),
                    latency_ms,
                    status,
                    mime,
                    body,
                    answer,
                    request_id,
                )
            )

    def extend(self, captured: list[Captured]) -> None:
        """Keep requests captured in another process (a runtime's replicas)."""
        self._queue.extend(captured)

    def drain(self) -> list[Captured]:
        out = []
        while self._queue:
            out.append(self._queue.popleft())
        return out

    def flush(self, http: Http) -> int:
        """Parse what was captured and post it, per endpoint; returns rows sent. A failed post
        drops that batch (the log is a sample; serving never waits for it)."""
        by_endpoint: dict[str, list[dict[str, Any]]] = {}
        for c in self.drain():
            by_endpoint.setdefault(c.endpoint, []).extend(rows_of(c))
        sent = 0
        for endpoint, rows in by_endpoint.items():
            if not rows:
                continue
            try:
                http.call(
                    "POST", "/api/v1/agent/predictions", json={"endpoint": endpoint, "rows": rows}
                )
                sent += len(rows)
            except MLPipeXError as exc:
                log.warning("prediction log of %s not sent (%d rows): %s", endpoint, len(rows), exc)
        return sent


def _json_records(doc: Any) -> list[dict[str, Any]] | None:
    """The input rows of an MLflow JSON request as records, without pandas (the common case;
    None for anything else, which the full parser handles)."""
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("dataframe_records"), list):
        return [r for r in doc["dataframe_records"] if isinstance(r, dict)]
    split = doc.get("dataframe_split")
    if isinstance(split, dict) and isinstance(split.get("data"), list):
        columns = [str(c) for c in split.get("columns") or range(len(split["data"][0]))]
        return [dict(zip(columns, row, strict=False)) for row in split["data"]]
    rows = doc.get("instances", doc.get("inputs"))
    if isinstance(rows, list) and rows and all(isinstance(r, list) for r in rows):
        return [{str(i): v for i, v in enumerate(r)} for r in rows]
    return None


def rows_of(c: Captured) -> list[dict[str, Any]]:
    """One log row per input row of a captured request, with its own prediction."""
    try:
        records = _json_records(codec.loads(c.body)) if c.mime.startswith(JSON) else None
        if records is None:
            data = invocations.parse(c.body, c.mime, None).data
            if isinstance(data, pd.DataFrame):
                records = data.to_dict("records")
            else:
                arr = np.asarray(data)
                arr = arr.reshape(1, -1) if arr.ndim == 1 else arr
                records = [{str(i): v for i, v in enumerate(row)} for row in arr.tolist()]
        predictions = codec.loads(c.answer).get("predictions")
    except (MLPipeXError, ValueError, AttributeError, TypeError, IndexError):
        return []
    outputs = predictions if isinstance(predictions, list) else [predictions] * len(records)
    if len(outputs) != len(records):
        outputs = [predictions] * len(records)
    # Row i of a request of several rows is labelled as "ID:i" (feedback names rows so).
    single = len(records) == 1
    return [
        {
            "request_id": c.request_id if single else f"{c.request_id}:{i}",
            "time": c.time_ms,
            "version": c.version,
            "latency_ms": c.latency_ms,
            "status": c.status,
            "input": r,
            "output": o,
        }
        for i, (r, o) in enumerate(zip(records, outputs, strict=True))
    ]
