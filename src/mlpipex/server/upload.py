"""Upload bodies, received on the event loop while a worker thread hashes and stores them: one
pass, no second copy. The native object PUT and the MLflow artifact proxy both store this way."""

from __future__ import annotations

import asyncio
import collections
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from mlpipex.errors import Invalid, MLPipeXError
from mlpipex.objects.store import Readable

T = TypeVar("T")
# bytes per hop between the loop and the worker: chunks travel as received (up to 1 MB a read
# under `mlpipex server`'s BodyProtocol, 64-256 KB under stock uvicorn), grouped so that a hop
# is not paid per small chunk; joining them into one buffer instead cost a copy
HOP = 1024 * 1024
GROUPS = 8  # groups in flight: the loop reads ahead of the writer by at most this many
_END, _BROKEN = object(), object()  # what follows the last group: the body's end, or not


class _Body:
    """Received chunks as a blocking stream for the object store's hashing writer: each read
    returns the next chunk whole (a stream may return fewer bytes than asked), never a copy.

    Groups cross from the loop in a plain queue: the worker blocks on it without the loop's
    help, and wakes the loop only when the loop waits for room (an awaited call from the
    thread per group cost ten times as much CPU as the queue)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop, self._groups = loop, queue.SimpleQueue[list[bytes] | object]()
        self._lock = threading.Lock()
        self._room: asyncio.Future[None] | None = None  # set while the loop waits for room
        self._pending, self._ended = collections.deque[bytes](), False

    # -- the loop's side ---------------------------------------------------------------------
    async def put(self, group: list[bytes] | object) -> None:
        """Queue a group (or _END/_BROKEN), first waiting while GROUPS are not yet taken."""
        while True:
            with self._lock:
                if self._groups.qsize() < GROUPS:
                    self._groups.put(group)
                    return
                self._room = room = self._loop.create_future()
            await room

    def cut_off(self) -> None:
        """The body ended before its end: queued past the limit, so that it never waits."""
        self._groups.put(_BROKEN)

    def _made_room(self) -> None:
        with self._lock:
            room, self._room = self._room, None
        if room is not None:
            self._loop.call_soon_threadsafe(_settle, room)

    # -- the worker's side -------------------------------------------------------------------
    def read(self, n: int = -1) -> bytes:
        while not self._pending and not self._ended:
            group = self._groups.get()
            self._made_room()
            if group is _BROKEN:  # an end that is not the body's: the writer must fail
                raise Invalid("the upload was cut off before its end; nothing was stored")
            if group is _END:
                self._ended = True
            else:
                self._pending.extend(group)  # type: ignore[arg-type]
        return self._pending.popleft() if self._pending else b""


def _declared_size(request: Request) -> int | None:
    """The body's Content-Length (BodyLimit has checked it is a number under the limit); None
    for a chunked body."""
    declared = request.headers.get("content-length")
    return int(declared) if declared is not None and declared.isdigit() else None


def _settle(room: asyncio.Future[None]) -> None:
    if not room.done():
        room.set_result(None)


async def store_body(request: Request, store: Callable[[Readable, int | None], T]) -> T:
    """store(body, size) in a worker thread, fed the request body as it arrives, with the size
    the request declares (None for a chunked body); its errors are raised as themselves. A body
    cut off midway makes store's read fail, so nothing is kept."""
    body = _Body(asyncio.get_running_loop())

    async def produce() -> None:
        group: list[bytes] = []
        held = 0
        try:
            async for chunk in request.stream():
                if not chunk:  # an empty read would look like the end to the writer
                    continue
                group.append(chunk)
                held += len(chunk)
                if held >= HOP:
                    await body.put(group)
                    group, held = [], 0
        except BaseException:
            body.cut_off()
            raise
        if group:
            await body.put(group)
        await body.put(_END)

    refused: MLPipeXError | None = None
    result: T | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        try:
            result = await run_in_threadpool(store, body, _declared_size(request))
        except MLPipeXError as exc:  # raised as itself, not inside the task group's group
            refused = exc
            tg.cancel_scope.cancel()
    if refused is not None:
        raise refused
    return result  # type: ignore[return-value]
