"""store_body in process: a body fed to the worker in order and whole, the loop reading ahead of
a slow writer by a bounded amount, a body cut off midway failing the writer, and a refusal
raised while the loop waits for room."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

import pytest
from starlette.requests import Request

from mlpipex.errors import Invalid
from mlpipex.objects.store import Readable
from mlpipex.server.upload import GROUPS, HOP, store_body

PIECE = 256 * 1024  # what uvicorn hands over per message at most


def _request(
    pieces: list[bytes], received: list[int], cut_off: bool = False, declared: bool = False
) -> Request:
    """A request whose body arrives as pieces (its length declared, or chunked); received counts
    the bytes handed over."""
    left = list(pieces)

    async def receive() -> dict[str, Any]:
        if not left:
            return {"type": "http.disconnect"}
        piece = left.pop(0)
        received.append(len(piece))
        more = bool(left) or cut_off
        return {"type": "http.request", "body": piece, "more_body": more}

    length = str(sum(map(len, pieces))).encode()
    headers = [(b"content-length", length)] if declared else []
    return Request({"type": "http", "method": "PUT", "headers": headers}, receive)


def _read_all(body: Readable, size: int | None = None) -> bytes:
    out = []
    while chunk := body.read():
        out.append(chunk)
    return b"".join(out)


def test_the_body_reaches_the_writer_whole_and_in_order_past_the_read_ahead() -> None:
    pieces = [os.urandom(PIECE) for _ in range(3 * GROUPS * HOP // PIECE)]
    got = asyncio.run(store_body(_request(pieces, []), _read_all))
    assert got == b"".join(pieces)


def test_the_writer_is_told_the_declared_size_and_none_for_a_chunked_body() -> None:
    pieces = [b"ab", b"cde"]
    for declared, size in ((True, 5), (False, None)):
        told = asyncio.run(store_body(_request(pieces, [], declared=declared), lambda b, n: n))
        assert told == size


def test_the_loop_reads_ahead_of_a_slow_writer_by_a_bounded_amount() -> None:
    pieces = [b"x" * PIECE for _ in range(3 * GROUPS * HOP // PIECE)]
    received: list[int] = []
    ahead: list[int] = []
    started = threading.Event()

    def slow(body: Readable, size: int | None) -> int:
        started.set()
        time.sleep(0.5)  # the loop fills what it may meanwhile, then must wait for room
        ahead.append(sum(received))
        return len(_read_all(body))

    assert asyncio.run(store_body(_request(pieces, received), slow)) == sum(map(len, pieces))
    assert started.is_set()
    # GROUPS groups queued, one being gathered: never the whole body
    assert GROUPS * HOP <= ahead[0] <= (GROUPS + 1) * HOP + PIECE < sum(map(len, pieces))


def test_a_body_cut_off_midway_fails_the_writer() -> None:
    pieces = [os.urandom(PIECE) for _ in range(2 * HOP // PIECE)]
    failed: list[Exception] = []

    def store(body: Readable, size: int | None) -> bytes:
        try:
            return _read_all(body)
        except Invalid as exc:
            failed.append(exc)
            raise

    with pytest.raises(ExceptionGroup):  # the client is gone; what matters is the writer's end
        asyncio.run(store_body(_request(pieces, [], cut_off=True), store))
    assert len(failed) == 1 and "cut off" in str(failed[0])


def test_a_refusal_before_the_body_is_read_is_raised_as_itself_without_waiting_for_it() -> None:
    pieces = [b"x" * PIECE for _ in range(3 * GROUPS * HOP // PIECE)]
    received: list[int] = []

    def refuse(body: Readable, size: int | None) -> None:
        time.sleep(0.2)  # the loop fills the queue meanwhile and waits for room
        raise Invalid("refused")

    with pytest.raises(Invalid, match="refused"):
        asyncio.run(store_body(_request(pieces, received), refuse))
    assert sum(received) < sum(map(len, pieces))  # the rest of the body was never waited for
