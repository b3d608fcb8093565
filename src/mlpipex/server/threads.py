"""The threads a request's blocking work runs on, off the event loop (a handler's statements, a
credentials check, a large body's depth); never the event loop itself, where a slow statement or
a lock wait would stall every other request.

Starlette's ``run_in_threadpool`` goes through anyio, whose hop adds two trips round the event
loop (checkpoints), a capacity limiter and a cancel scope to the two thread wake-ups; a
``ThreadPoolExecutor`` hands each job to whichever of its threads wakes first, so under load a
request runs on a thread whose caches went cold. Through the socket (2026-11-30, 2 shared cores)
the hop costs 0.06-0.08 ms with anyio, 0.035-0.045 with an executor, 0.03 here: the thread that
finished last takes the next job (a stack of idle threads, each waiting on its own queue). At
most ``THREADS`` run at once, as with anyio's default limiter; past that, jobs wait in order.
The caller's context variables go along, as anyio's do."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
THREADS = 40  # anyio's default limiter, which the routes left to FastAPI share

# a job: the future to settle, its loop, and the call in the caller's context
_Job = tuple["asyncio.Future[Any]", asyncio.AbstractEventLoop, Callable[[], Any]]


class _Pool:
    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue[_Job]] = []  # the last to finish, last
        self._waiting: deque[_Job] = deque()  # jobs that found every thread busy
        self._started = 0

    def submit(self, job: _Job) -> None:
        with self._lock:
            if self._idle:
                inbox = self._idle.pop()
            elif self._started < self.size:
                self._started += 1
                inbox = queue.SimpleQueue()
                name = f"mlpipex-request-{self._started}"
                threading.Thread(target=self._work, args=(inbox,), name=name, daemon=True).start()
            else:
                self._waiting.append(job)
                return
        inbox.put(job)

    def _work(self, inbox: queue.SimpleQueue[_Job]) -> None:
        while True:
            job: _Job | None = inbox.get()
            while job is not None:  # nothing of a finished call is kept while this thread waits
                job = self._serve(job, inbox)

    def _serve(self, job: _Job, inbox: queue.SimpleQueue[_Job]) -> _Job | None:
        """Run one job; the next that waits for a thread, or None with this one idle."""
        future, loop, call = job
        outcome = _outcome(call) if not future.cancelled() else None  # None: given up
        with self._lock:
            waiting = self._waiting.popleft() if self._waiting else None
            if waiting is None:
                # idle before the caller hears back, so that its next call finds this thread
                self._idle.append(inbox)
        if outcome is not None:
            with contextlib.suppress(RuntimeError):  # the caller's loop is closed
                loop.call_soon_threadsafe(_settle, future, *outcome)
        return waiting


def _outcome(call: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    try:
        return call(), None
    except BaseException as exc:  # handed to the caller, as the call's own outcome
        return None, exc


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    elif isinstance(error, StopIteration):  # a future cannot hold one
        future.set_exception(RuntimeError("the call raised StopIteration"))
    else:
        future.set_exception(error)


_pool: _Pool | None = None


def _forget_pool() -> None:
    # a forked child has none of its parent's threads; it starts its own
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


async def run_blocking(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """fn(*args, **kwargs) on one of the server's threads, awaited."""
    global _pool
    if _pool is None:
        _pool = _Pool(THREADS)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()
    _pool.submit((future, loop, lambda: context.run(fn, *args, **kwargs)))
    return await future
