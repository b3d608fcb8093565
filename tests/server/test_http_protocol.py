"""BodyProtocol on a real uvicorn server on loopback: a body arrives whole and in order, as
bytes, whether the app takes each chunk at once or lets several pile up behind one."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import blake3
import httpx
import pytest
import uvicorn

from mlpipex.server.http_protocol import BodyProtocol
from tests.conftest import free_port

pytestmark = pytest.mark.slow


def _app(pause_s: float) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        h, kinds, messages = blake3.blake3(), set(), 0
        while True:
            m = await receive()
            h.update(m["body"])
            kinds.add(type(m["body"]).__name__)
            messages += 1
            if not m.get("more_body"):
                break
            await asyncio.sleep(pause_s)  # chunks pile up behind the one not yet taken
        body = f"{h.hexdigest()} {','.join(sorted(kinds))} {messages}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


@pytest.fixture(params=[0.0, 0.02], ids=["taken at once", "taken late"])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        _app(request.param), host="127.0.0.1", port=port, http=BodyProtocol, log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def test_a_body_arrives_whole_in_order_and_as_bytes(url: str) -> None:
    pieces = [os.urandom(1 << 20) for _ in range(12)]
    for content in (pieces, b"".join(pieces[:2]), b""):
        r = httpx.put(url, content=content, timeout=60)
        digest, kinds, messages = r.text.split()
        whole = b"".join(content) if isinstance(content, list) else content
        assert digest == blake3.blake3(whole).hexdigest()
        assert kinds == "bytes" and int(messages) >= 1
