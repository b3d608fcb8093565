"""uvicorn's httptools protocol, receiving a request body with two copies of each chunk fewer:
`mlpipex server` runs on it (``http="mlpipex.server.http_protocol:BodyProtocol"``)."""

from __future__ import annotations

from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class BodyProtocol(HttpToolsProtocol):
    """uvicorn appends each chunk the parser gives to a bytearray, and ``receive()`` copies that
    into a new bytes: two more copies of every byte of an upload on the event loop, in buffers
    allocated anew each time (a bare app receiving 1 GB spent 0.9-1.1 s of CPU on stock
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
