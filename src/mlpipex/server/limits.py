"""Limits every request body meets before any route reads it: its size, and how deeply its JSON
nests (a few kilobytes of brackets would otherwise exhaust the parser's recursion)."""

from __future__ import annotations

import numpy as np
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DEPTH = 64
UPLOADS = ("/api/v1/objects/", "/api/2.0/mlflow-artifacts/artifacts")


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


_BLOCK = 1 << 20


def too_deep(body: bytes, limit: int) -> bool:
    """Whether JSON text nests [ and { deeper than limit outside strings. Vectorized, block by
    block, so a body of many megabytes costs well under a second: escapes are dropped, quotes
    counted to know what is inside a string, and the running depth of the brackets outside
    taken. Bodies that are not JSON rarely hold brackets, and then only shallowly."""
    text = np.frombuffer(body.replace(b"\\\\", b"").replace(b'\\"', b""), dtype=np.uint8)
    quotes, depth = 0, 0
    for start in range(0, len(text), _BLOCK):
        block = text[start : start + _BLOCK]
        counted = np.cumsum(block == 0x22, dtype=np.int64) + quotes
        outside = (counted & 1) == 0
        opens = ((block == 0x5B) | (block == 0x7B)) & outside
        closes = ((block == 0x5D) | (block == 0x7D)) & outside
        levels = np.cumsum(opens.astype(np.int64) - closes, dtype=np.int64) + depth
        if int(levels.max()) > limit:
            return True
        quotes, depth = int(counted[-1]), int(levels[-1])
    return False


class BodyLimit:
    """Refuse bodies over the size limit with 413 and JSON nested too deeply with 400, before any
    route parses them. Uploads stream through (their own limit; not JSON); other bodies are read
    here, checked, then handed on (routes read them whole anyway)."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int) -> None:
        self.app, self.max_bytes, self.upload_bytes = app, max_bytes, upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"].startswith(UPLOADS)
        limit = self.upload_bytes if upload else self.max_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        try:
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                raise _too_large(limit)
            if not upload:
                receive = await _checked_whole(receive, limit)
        except _Refused as refused:
            await _refuse(scope, send, refused)
            return
        if upload:
            receive = _counted(receive, limit)
        try:
            await self.app(scope, receive, send)
        except _Refused as refused:
            await _refuse(scope, send, refused)


def _too_large(limit: int) -> _Refused:
    return _Refused(413, "TOO_LARGE", f"request body over {limit:,} bytes")


async def _checked_whole(receive: Receive, limit: int) -> Receive:
    """Read the whole body, checking size and depth as it comes; a receive that replays it."""
    chunks, seen = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return _replay([message], receive)
        body = message.get("body", b"")
        seen += len(body)
        if seen > limit:
            raise _too_large(limit)
        chunks.append(body)
        if not message.get("more_body", False):
            break
    whole = b"".join(chunks)
    if too_deep(whole, MAX_DEPTH):
        raise _Refused(400, "INVALID", f"JSON nested deeper than {MAX_DEPTH} levels")
    return _replay([{"type": "http.request", "body": whole}], receive)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        return messages.pop(0) if messages else await receive()

    return replayed


def _counted(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise _too_large(limit)
        return message

    return counted


async def _refuse(scope: Scope, send: Send, refused: _Refused) -> None:
    body: dict[str, object] = {"error": {"code": refused.code, "message": refused.message}}
    if scope["path"].startswith("/api/2.0/"):
        body = {"error_code": "INVALID_PARAMETER_VALUE", "message": refused.message}
    await JSONResponse(body, status_code=refused.status)(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
