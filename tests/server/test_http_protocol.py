"""BodyProtocol on a real uvicorn server on loopback (uvloop, as `mlpipex server` runs): a body
arrives whole and in order, as bytes, whether the app takes each chunk at once or lets several
pile up behind one; reads larger than uvloop's own; connections sharing the receive buffer;
a malformed request refused."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import blake3
import httpx
import pytest
import uvicorn

from mlpipex.server.http_protocol import RECEIVE, BodyProtocol
from tests.conftest import free_port

pytestmark = pytest.mark.slow


def _app(pause_s: float) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        h, kinds, messages, largest = blake3.blake3(), set(), 0, 0
        while True:
            m = await receive()
            h.update(m["body"])
            kinds.add(type(m["body"]).__name__)
            messages += 1
            largest = max(largest, len(m["body"]))
            if not m.get("more_body"):
                break
            await asyncio.sleep(pause_s)  # chunks pile up behind the one not yet taken
        body = f"{h.hexdigest()} {','.join(sorted(kinds))} {messages} {largest}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


@contextlib.contextmanager
def _serving(app: Any, protocol: type[BodyProtocol] = BodyProtocol) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, loop="uvloop", http=protocol, log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(params=[0.0, 0.02], ids=["taken at once", "taken late"])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    with _serving(_app(request.param)) as url:
        yield url


def test_a_body_arrives_whole_in_order_and_as_bytes(url: str) -> None:
    pieces = [os.urandom(1 << 20) for _ in range(12)]
    for content in (pieces, b"".join(pieces[:2]), b""):
        r = httpx.put(url, content=content, timeout=60)
        digest, kinds, messages, _ = r.text.split()
        whole = b"".join(content) if isinstance(content, list) else content
        assert digest == blake3.blake3(whole).hexdigest()
        assert kinds == "bytes" and int(messages) >= 1


def test_the_socket_is_read_into_the_lent_buffer_more_than_256_kb_at_a_time() -> None:
    """uvloop reads into the buffer the protocol lends (it would not, were the protocol an
    asyncio.Protocol), up to RECEIVE bytes a read where its own reads stop at 256 KB."""
    reads: list[int] = []

    class Recording(BodyProtocol):
        def buffer_updated(self, nbytes: int) -> None:
            reads.append(nbytes)
            super().buffer_updated(nbytes)

    pieces = [os.urandom(1 << 20) for _ in range(24)]
    with _serving(_app(0.02), Recording) as url:
        digest = httpx.put(url, content=pieces, timeout=60).text.split()[0]
    assert digest == blake3.blake3(b"".join(pieces)).hexdigest()
    assert 256 * 1024 < max(reads) <= RECEIVE


def test_connections_at_once_share_the_receive_buffer_without_mixing_bodies(url: str) -> None:
    bodies = [os.urandom(6 << 20) for _ in range(3)]
    answers: dict[int, str] = {}

    def send(i: int) -> None:
        answers[i] = httpx.put(url, content=[bodies[i]], timeout=60).text.split()[0]

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert answers == {i: blake3.blake3(b).hexdigest() for i, b in enumerate(bodies)}


def test_a_malformed_request_is_refused_with_400(url: str) -> None:
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 400")
