"""The threads a request's blocking work runs on, off the event loop (a handler's statements, a
credentials check, a large body's depth); never the event loop itself, where a slow statement or
a lock wait would stall every other request.

Starlette's ``run_in_threadpool`` goes through anyio, whose hop adds two trips round the event
loop (checkpoints), a capacity limiter and a cancel scope to the two thread wake-ups. The
standard library's executor is the two wake-ups alone: through the socket (2026-11-30, 2 shared
cores) the hop costs 0.035-0.045 ms, against 0.064-0.077 with anyio. At most ``THREADS`` run at
once, as with anyio's default limiter; past that, calls wait in order. A call given up before
it started never runs; the caller's context variables go along, as anyio's do."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
THREADS = 40  # anyio's default limiter, which the routes left to FastAPI share

_pool: ThreadPoolExecutor | None = None


def _forget_pool() -> None:
    # a forked child has none of its parent's threads: its executor would wait on them forever
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


async def run_blocking(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """fn(*args, **kwargs) on one of the server's threads, awaited."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="mlpipex-request")
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_pool, _no_stop_iteration, call)


def _no_stop_iteration(call: Callable[[], T]) -> T:
    try:
        return call()
    except StopIteration as exc:  # an asyncio future cannot hold one: the caller would hang
        raise RuntimeError("the call raised StopIteration") from exc
