"""Adaptive micro-batching: concurrent requests for one version share one predict call.

A request that finds the model idle is dispatched in the same event-loop turn (requests that
arrived in that turn join it), so low load adds no latency. Requests that arrive while a predict
runs queue up and go together when it ends; if they are fewer than ``max_rows`` and the oldest
has waited less than ``max_wait``, the batcher holds them until either limit is reached. Predicts
run one at a time in a thread of the version's own, so the event loop keeps accepting and a model
that is not thread-safe is never called concurrently (a plain queue and thread: the hand-over
costs a third of what an executor's does). When a batch fails, its requests are
predicted one by one, so each gets its own answer or its own error.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlpipex.serving.metrics import VersionMetrics

Predict = Callable[[Any, Mapping[str, Any] | None], Any]


@dataclass(slots=True)
class _Item:
    data: Any
    rows: int
    params: Mapping[str, Any] | None
    future: asyncio.Future[Any]
    arrived: float


@dataclass(slots=True)
class _Outcome:
    ok: bool
    value: Any


_Job = tuple[list[_Item], asyncio.AbstractEventLoop]


class Batcher:
    """Queues inputs (already validated against the signature) for one model and predicts
    them in batches of at most ``max_rows`` rows."""

    def __init__(
        self,
        predict: Predict,
        *,
        max_rows: int = 64,
        max_wait_ms: float = 1.0,
        metrics: VersionMetrics | None = None,
        name: str = "model",
    ) -> None:
        self._predict = predict
        self.max_rows = max(1, max_rows)
        self.max_wait = max(0.0, max_wait_ms) / 1000
        self.metrics = metrics or VersionMetrics()
        self._queue: deque[_Item] = deque()
        self._queued_rows = 0
        self._busy = False
        # A predict just ended with requests waiting: the load is high enough to wait for more.
        self._after_busy = False
        self._pending: asyncio.Handle | None = None
        # Started on first use, so a batcher built before fork() starts no thread in the parent.
        self._jobs: queue.SimpleQueue[_Job | None] | None = None
        self._name = name

    async def predict(self, data: Any, rows: int, params: Mapping[str, Any] | None = None) -> Any:
        """The model's output for these rows alone; raises what the model raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append(_Item(data, rows, params, future, loop.time()))
        self._queued_rows += rows
        if not self._busy:
            pending = self._pending
            if pending is None:
                # call_soon, not a direct call: requests parsed in this turn join the batch.
                self._pending = loop.call_soon(self._dispatch)
            elif self._queued_rows >= self.max_rows:
                pending.cancel()  # a full batch waits for nothing (pending is the wait timer)
                self._pending = loop.call_soon(self._dispatch)
        return await future

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.put(None)
            self._jobs = None

    def _dispatch(self) -> None:
        self._pending = None
        if self._busy or not self._queue:
            return
        loop = asyncio.get_running_loop()
        ready = self._queue[0].arrived + self.max_wait
        if self._after_busy and loop.time() < ready and self._queued_rows < self.max_rows:
            self._pending = loop.call_at(ready, self._dispatch)
            return
        batch = self._take()
        self._busy = True
        if self._jobs is None:
            self._jobs = queue.SimpleQueue()
            worker = threading.Thread(
                target=self._work, args=(self._jobs,), name=f"predict-{self._name}", daemon=True
            )
            worker.start()
        self._jobs.put((batch, loop))

    def _take(self) -> list[_Item]:
        """The oldest request and the queued ones sharing its params (requests with different
        params cannot share a predict call), up to max_rows rows; the rest keep their order."""
        first = self._queue.popleft()
        batch, rows = [first], first.rows
        if self._queue and rows < self.max_rows:
            rest: deque[_Item] = deque()
            for item in self._queue:
                if rows + item.rows <= self.max_rows and item.params == first.params:
                    batch.append(item)
                    rows += item.rows
                else:
                    rest.append(item)
            self._queue = rest
        self._queued_rows -= rows
        return batch

    def _work(self, jobs: queue.SimpleQueue[_Job | None]) -> None:
        """The predict thread: runs batches until close() sends None."""
        while (job := jobs.get()) is not None:
            batch, loop = job
            try:
                outcomes = self._run(batch)
            except BaseException as e:  # SystemExit and the like from a model: still answer
                outcomes = [_Outcome(False, e)] * len(batch)
            try:
                loop.call_soon_threadsafe(self._finish, batch, outcomes)
            except RuntimeError:  # the loop has closed: nobody is waiting any more
                return

    def _finish(self, batch: list[_Item], outcomes: list[_Outcome]) -> None:
        self._busy = False
        for item, outcome in zip(batch, outcomes, strict=True):
            if item.future.done():  # the client went away
                continue
            if outcome.ok:
                item.future.set_result(outcome.value)
            else:
                item.future.set_exception(outcome.value)
        self._after_busy = bool(self._queue)
        if self._queue:
            self._dispatch()

    def _run(self, batch: list[_Item]) -> list[_Outcome]:
        """In the predict thread: one call for the batch, or one per request if that fails."""
        if len(batch) > 1:
            rows = [item.rows for item in batch]
            try:
                joined = concat([item.data for item in batch])
                output = self._call(joined, batch[0].params, sum(rows))
                return [_Outcome(True, part) for part in split(output, rows)]
            except Exception:
                pass  # some request in the batch is bad for the model: retried one by one below
        return [self._one(item) for item in batch]

    def _one(self, item: _Item) -> _Outcome:
        try:
            return _Outcome(True, self._call(item.data, item.params, item.rows))
        except Exception as e:
            return _Outcome(False, e)

    def _call(self, data: Any, params: Mapping[str, Any] | None, rows: int) -> Any:
        self.metrics.predict_calls += 1
        self.metrics.predicted_rows += rows
        return self._predict(data, params)


def concat(parts: Sequence[Any]) -> Any:
    """Rows of several validated inputs as one input of the same kind."""
    if all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts)
    if all(isinstance(p, pd.DataFrame) for p in parts):
        return pd.concat(parts, ignore_index=True)
    raise TypeError("inputs of different kinds cannot be batched")


def split(output: Any, rows: Sequence[int]) -> list[Any]:
    """A batch's output cut back into one output per request, by row counts."""
    if isinstance(output, pd.DataFrame | pd.Series):
        cut: Any = output.iloc
    elif isinstance(output, list | tuple) or (isinstance(output, np.ndarray) and output.ndim):
        cut = output
    else:
        raise ValueError(f"cannot split a {type(output).__name__} output by rows")
    if len(output) != sum(rows):
        raise ValueError("the model returned a different number of rows than it was given")
    parts, start = [], 0
    for n in rows:
        parts.append(cut[start : start + n])
        start += n
    return parts
