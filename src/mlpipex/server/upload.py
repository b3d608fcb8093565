"""Upload bodies, received on the event loop while a worker thread hashes and stores them: one
pass, no second copy. The native object PUT and the MLflow artifact proxy both store this way."""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.from_thread
from anyio.streams.memory import MemoryObjectReceiveStream
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from mlpipex.errors import Invalid, MLPipeXError
from mlpipex.objects.store import Readable

T = TypeVar("T")
# bytes per hop between the loop and the worker: chunks travel as received (uvicorn hands over
# 64-256 KB at a time), grouped so that a hop is not paid per chunk; joining them into one
# buffer instead cost a copy, and an allocation big enough to be mapped and faulted in anew
HOP = 1024 * 1024
GROUPS = 8  # groups in flight: the loop reads ahead of the writer by at most this many


class _Body:
    """Received chunks as a blocking stream for the object store's hashing writer: each read
    returns the next chunk whole (a stream may return fewer bytes than asked), never a copy."""

    def __init__(self, groups: MemoryObjectReceiveStream[list[bytes]]) -> None:
        self._groups, self._pending, self._done = groups, collections.deque[bytes](), False
        self.broken = False  # set by the receiving side when the body did not arrive whole

    def read(self, n: int = -1) -> bytes:
        while not self._pending and not self._done:
            try:
                self._pending.extend(anyio.from_thread.run(self._groups.receive))
            except anyio.EndOfStream:
                self._done = True
        if not self._pending and self.broken:
            # an end that is not the body's: the writer must fail, not store what came
            raise Invalid("the upload was cut off before its end; nothing was stored")
        return self._pending.popleft() if self._pending else b""


async def store_body(request: Request, store: Callable[[Readable], T]) -> T:
    """store(body) in a worker thread, fed the request body as it arrives; its errors are
    raised as themselves. A body cut off midway makes store's read fail, so nothing is kept."""
    send, receive = anyio.create_memory_object_stream[list[bytes]](max_buffer_size=GROUPS)
    body = _Body(receive)

    async def produce() -> None:
        async with send:
            group: list[bytes] = []
            held = 0
            try:
                async for chunk in request.stream():
                    if not chunk:  # an empty read would look like the end to the writer
                        continue
                    group.append(chunk)
                    held += len(chunk)
                    if held >= HOP:
                        await send.send(group)
                        group, held = [], 0
            except BaseException:
                body.broken = True
                raise
            if group:
                await send.send(group)

    refused: MLPipeXError | None = None
    result: T | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        try:
            result = await run_in_threadpool(store, body)
        except MLPipeXError as exc:  # raised as itself, not inside the task group's group
            refused = exc
            tg.cancel_scope.cancel()
    if refused is not None:
        raise refused
    return result  # type: ignore[return-value]
