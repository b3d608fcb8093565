"""Micro-batching through a real server: concurrent requests share predict calls (counted by the
model itself) yet each gets its own answer; a lone request is not held for the batch wait."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
import numpy as np

from mlpipex.serving.batcher import Batcher
from tests.serving.conftest import Servers


async def _concurrently(url: str, bodies: list[dict[str, object]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        return await asyncio.gather(*(client.post("/invocations", json=b) for b in bodies))


def test_concurrent_requests_share_predict_calls_and_keep_their_own_answers(servers: Servers):
    server = servers.counting
    before = len(server.predict_calls())
    # Different row counts and params: rows are split back by count, params never mixed.
    bodies: list[dict[str, object]] = [
        {"inputs": [[float(i), 1.0]] * (1 + i % 3), "params": {"scale": 1 + i % 2}}
        for i in range(24)
    ]
    replies = asyncio.run(_concurrently(server.url, bodies))
    for i, r in enumerate(replies):
        assert r.status_code == 200, r.text
        assert r.json() == {"predictions": [(i + 1.0) * (1 + i % 2)] * (1 + i % 3)}
    calls = server.predict_calls()[before:]
    assert sum(calls) == sum(1 + i % 3 for i in range(24))  # every row predicted once
    assert len(calls) < len(bodies)
    assert max(calls) <= 8  # --max-batch


def test_a_failing_batch_is_retried_request_by_request(servers: Servers):
    before = len(servers.counting.predict_calls())
    bodies: list[dict[str, object]] = [{"inputs": [[float(i), 2.0]]} for i in range(12)]
    bodies[5] = {"inputs": [[1.0, -1.0]]}
    replies = asyncio.run(_concurrently(servers.counting.url, bodies))
    for i, r in enumerate(replies):
        if i == 5:
            assert r.status_code == 500 and "negative input" in r.json()["message"]
        else:
            assert r.status_code == 200 and r.json() == {"predictions": [i + 2.0]}, r.text
    calls = servers.counting.predict_calls()[before:]
    assert max(calls) > 1  # a batch was tried...
    assert sum(calls) > len(bodies)  # ...failed, and its rows were predicted again one by one


def test_a_lone_request_is_not_held_for_max_wait():
    # With an hour of batch wait, a lone request that finds the model idle must still be
    # answered: it is dispatched at once, never held for the wait (if it were, wait_for's
    # bound would fail the test; how fast it answers is measured in bench/serving.py).
    calls: list[int] = []

    def predict(data: Any, params: Mapping[str, Any] | None) -> Any:
        calls.append(len(data))
        return np.asarray(data).sum(axis=1)

    async def lone_requests() -> list[Any]:
        batcher = Batcher(predict, max_rows=64, max_wait_ms=3_600_000)
        try:
            return [
                await asyncio.wait_for(batcher.predict(np.array([[float(i), 1.0]]), 1), 30)
                for i in range(3)
            ]
        finally:
            batcher.close()

    answers = asyncio.run(lone_requests())
    assert [a.tolist() for a in answers] == [[1.0], [2.0], [3.0]]
    assert calls == [1, 1, 1]  # each alone, none held to be joined by the next
