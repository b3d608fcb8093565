"""Limits every request body meets before any route reads it: its size, and how deeply its JSON
nests (a few kilobytes of brackets would otherwise exhaust the parser's recursion). Installed
inside authentication, so an anonymous caller is refused before its body is read."""

from __future__ import annotations

import numpy as np
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlpipex.server.paths import is_mlflow, is_upload
from mlpipex.server.threads import run_blocking

MAX_DEPTH = 64
# past this a body's depth is measured on a worker thread, not the event loop
THREAD_BYTES = 256 * 1024
_CHUNK = 1 << 22
_KEEP = b'[]{}"'
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_SQUARE = bytes.maketrans(b"{}", b"[]")


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


def too_deep(body: bytes) -> bool:
    """Whether [ and { outside JSON strings nest past MAX_DEPTH, by whole-buffer operations in C
    and numpy (no Python loop over bytes). Escapes go first: pairs of backslashes, then escaped
    quotes, left to right as a parser reads them; then every quote opens or closes a string."""
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = body.translate(_SQUARE, _DROP)
    if marks.count(b"[") <= MAX_DEPTH:
        return False
    quoted, level = 0, 0
    for start in range(0, len(marks), _CHUNK):
        chunk = np.frombuffer(marks, np.uint8, min(_CHUNK, len(marks) - start), start)
        quotes = np.cumsum(chunk == ord('"'), dtype=np.int32) + quoted
        # "[" is 0x5B and "]" is 0x5D: one up, one down; quotes and all within strings count 0
        steps = np.where((quotes & 1) | (chunk == ord('"')), 0, 0x5C - chunk.astype(np.int32))
        walk = np.cumsum(steps, dtype=np.int32) + level
        if int(walk.max()) > MAX_DEPTH:
            return True
        quoted, level = int(quotes[-1]) & 1, int(walk[-1])
    return False


def _json_body(content_type: bytes) -> bool:
    """Whether routes may parse the body as JSON: declared so, or undeclared (a route reading
    JSON does not insist on the header). Protobuf, octet streams and forms are never walked."""
    media = content_type.decode("latin-1").partition(";")[0].strip().lower()
    return media in ("", "text/plain") or media.endswith(("/json", "+json"))


def _framing(scope: Scope) -> tuple[bytes | None, bytes, bool]:
    """The request's Content-Length (None: not sent), Content-Type, and whether a
    Transfer-Encoding is sent: one pass over the headers (ASGI names them in lower case; the
    last of a repeated header counts, as ``dict(headers)`` would have it)."""
    length, kind, encoded = None, b"", False
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value
        elif name == b"content-type":
            kind = value
        elif name == b"transfer-encoding":
            encoded = True
    return length, kind, encoded


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
        upload = is_upload(scope["path"])
        limit = self.upload_bytes if upload else self.max_bytes
        declared, kind, encoded = _framing(scope)
        if declared is None and not encoded:
            # HTTP/1.1 framing: without either header a request has no body to limit (a GET)
            await self.app(scope, receive, send)
            return
        try:
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                raise _too_large(limit)
            if not upload:
                receive = await _checked_whole(receive, limit, _json_body(kind))
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


async def _checked_whole(receive: Receive, limit: int, check_depth: bool) -> Receive:
    """Read the whole body, checking its size as it comes and then its depth; a receive that
    replays it."""
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
    if check_depth and whole:
        small = seen < THREAD_BYTES
        if too_deep(whole) if small else await run_blocking(too_deep, whole):
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
    if is_mlflow(scope["path"]):
        body = {"error_code": "INVALID_PARAMETER_VALUE", "message": refused.message}
    await JSONResponse(body, status_code=refused.status)(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
