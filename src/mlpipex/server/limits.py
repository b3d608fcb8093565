"""Limits every request body meets before any route reads it: its size, and how deeply its JSON
nests (a few kilobytes of brackets would otherwise exhaust the parser's recursion)."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DEPTH = 64
UPLOADS = ("/api/v1/objects/", "/api/2.0/mlflow-artifacts/artifacts")


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


class _Depth:
    """Tracks the nesting of [ and { outside JSON strings across chunks; refuses past the limit.
    Bodies that are not JSON rarely hold brackets outside quotes, and then only shallowly."""

    def __init__(self, limit: int) -> None:
        self.limit, self.depth, self.in_string, self.escaped = limit, 0, False, False

    def feed(self, chunk: bytes) -> None:
        for byte in chunk:
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif byte == 0x5C:  # backslash
                    self.escaped = True
                elif byte == 0x22:  # closing quote
                    self.in_string = False
            elif byte == 0x22:
                self.in_string = True
            elif byte in (0x5B, 0x7B):  # [ {
                self.depth += 1
                if self.depth > self.limit:
                    raise _Refused(400, "INVALID", f"JSON nested deeper than {self.limit} levels")
            elif byte in (0x5D, 0x7D) and self.depth:
                self.depth -= 1


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
    chunks, seen, depth = [], 0, _Depth(MAX_DEPTH)
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return _replay([message], receive)
        body = message.get("body", b"")
        seen += len(body)
        if seen > limit:
            raise _too_large(limit)
        depth.feed(body)
        chunks.append(body)
        if not message.get("more_body", False):
            break
    return _replay([{"type": "http.request", "body": b"".join(chunks)}], receive)


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
