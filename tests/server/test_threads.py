"""server/threads.py: a request's blocking work runs on the server's threads, never the event
loop's; its outcome, its context, and how many run at once."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
import weakref
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from mlpipex.server import threads
from mlpipex.server.threads import run_blocking

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadPoolExecutor]:
    """A pool of two threads, in place of the process's own."""
    with ThreadPoolExecutor(2) as small:
        monkeypatch.setattr(threads, "_pool", small)
        yield small


def test_the_call_runs_off_the_loop_with_the_callers_context(pool: ThreadPoolExecutor) -> None:
    async def main() -> tuple[int, str, int]:
        WHO.set("caller")
        return await run_blocking(lambda n: (threading.get_ident(), WHO.get(), n), n=7)

    ident, who, n = asyncio.run(main())
    assert ident != threading.get_ident() and who == "caller" and n == 7


def test_an_error_reaches_the_caller_as_raised(pool: ThreadPoolExecutor) -> None:
    def fails() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        asyncio.run(run_blocking(fails))
    with pytest.raises(RuntimeError, match="StopIteration"):
        asyncio.run(run_blocking(next, iter(())))
    assert asyncio.run(run_blocking(int, "5")) == 5  # the thread still serves


def test_at_most_the_pools_size_run_at_once(pool: ThreadPoolExecutor) -> None:
    gate = threading.Event()
    lock = threading.Lock()
    running, most = [0], [0]

    def job(i: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        gate.wait(10)
        with lock:
            running[0] -= 1
        return i

    async def main() -> list[int]:
        calls = [asyncio.ensure_future(run_blocking(job, i)) for i in range(6)]
        await asyncio.sleep(0.05)
        assert not any(c.done() for c in calls)
        gate.set()
        return await asyncio.gather(*calls)

    assert asyncio.run(main()) == list(range(6))
    assert most[0] == 2


def test_calls_that_find_every_thread_busy_run_in_the_order_they_came(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(threads, "_pool", ThreadPoolExecutor(1))
    gate = threading.Event()
    order: list[int] = []

    async def main() -> None:
        first = asyncio.ensure_future(run_blocking(gate.wait, 10))
        await asyncio.sleep(0.01)
        rest = [asyncio.ensure_future(run_blocking(order.append, i)) for i in range(5)]
        await asyncio.sleep(0.01)
        assert order == []
        gate.set()
        await asyncio.gather(first, *rest)

    asyncio.run(main())
    assert order == [0, 1, 2, 3, 4]


def test_a_call_given_up_before_it_started_never_runs(pool: ThreadPoolExecutor) -> None:
    gate = threading.Event()
    ran: list[str] = []

    async def main() -> None:
        busy = [asyncio.ensure_future(run_blocking(gate.wait, 10)) for _ in range(2)]
        await asyncio.sleep(0.01)
        late = asyncio.ensure_future(run_blocking(ran.append, "late"))
        await asyncio.sleep(0.01)
        late.cancel()
        await asyncio.sleep(0.01)  # the loop passes the cancellation on to the pool
        gate.set()
        await asyncio.gather(*busy)
        assert await run_blocking(len, ran) == 0  # every thread has moved past it

    asyncio.run(main())
    assert ran == []


def test_a_thread_keeps_nothing_of_a_finished_call(pool: ThreadPoolExecutor) -> None:
    class Answer:
        pass

    async def main() -> weakref.ref[Answer]:
        return weakref.ref(await run_blocking(Answer))

    answer = asyncio.run(main())
    for _ in range(100):  # the thread lets go once it has handed the answer over
        if answer() is None:
            break
        time.sleep(0.01)
    assert answer() is None
