"""uvicorn's httptools protocol, receiving a request body in larger reads with three copies of
each chunk fewer: `mlpipex server` runs on it
(``http="mlpipex.server.http_protocol:BodyProtocol"``)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

RECEIVE = 1024 * 1024  # bytes one socket read may bring (uvloop's own reads stop at 256 KB)
_buffers = threading.local()  # one receive buffer per event loop's thread, for all its sockets


class BodyProtocol(asyncio.BufferedProtocol):
    """The socket read into a buffer this protocol lends, up to RECEIVE bytes a read, where
    uvloop reads 256 KB into its own buffer and copies each read into a new bytes; the reads are
    parsed by uvicorn's protocol (``_Http``) as they would have been. The parser copies what it
    keeps out of the buffer, so one buffer per thread serves every connection.

    A wrapper, not a subclass: uvloop lends no buffer to a protocol that is also an
    ``asyncio.Protocol``, which uvicorn's is."""

    def __init__(self, **uvicorn_args: Any) -> None:
        self.http = _Http(**uvicorn_args)

    def get_buffer(self, sizehint: int) -> memoryview:
        buffer: memoryview | None = getattr(_buffers, "view", None)
        if buffer is None:
            buffer = _buffers.view = memoryview(bytearray(RECEIVE))
        return buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.http.data_received(_buffers.view[:nbytes])  # type: ignore[arg-type]  # parsed alike

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.http.connection_made(transport)  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        self.http.connection_lost(exc)

    def eof_received(self) -> None:
        self.http.eof_received()

    def pause_writing(self) -> None:
        self.http.pause_writing()

    def resume_writing(self) -> None:
        self.http.resume_writing()


class _Http(HttpToolsProtocol):
    """uvicorn appends each body chunk the parser gives to a bytearray, and ``receive()`` copies
    that into a new bytes: two more copies of every byte of an upload on the event loop, in
    buffers allocated anew each time (a bare app receiving 1 GB spent 0.9-1.1 s of CPU on stock
    httptools, 0.2-0.25 s on this). Here a chunk that arrives while the body buffer is empty
    (the usual case: the app takes each before reading resumes) is kept as the parser's bytes,
    which ``receive()``'s ``bytes(...)`` hands on as the same object; a chunk arriving behind
    one not yet taken is appended as uvicorn does. Everything else (flow control, disconnects,
    the message it makes) is uvicorn's own."""

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
            return
        if cycle.body:
            cycle.body += body
        else:
            cycle.body = body  # type: ignore[assignment]  # bytes in place of the bytearray
        if len(cycle.body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()
