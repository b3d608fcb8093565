"""/api/v1/objects: content-addressed uploads and downloads. Clients ask which digests are
missing first, so bytes the server has are never sent again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from mlpipex.domain.api import DigestList, MissingDigests
from mlpipex.domain.digest import is_object_digest
from mlpipex.errors import Invalid
from mlpipex.server.deps import RegistryDep

router = APIRouter(prefix="/api/v1/objects", tags=["objects"])
CHUNK = 4 * 1024 * 1024


def _check(digest: str) -> str:
    if not is_object_digest(digest):
        raise Invalid(f"{digest!r} is not an object digest (64 lowercase hex characters)")
    return digest


@router.post("/missing")
def missing(reg: RegistryDep, body: DigestList) -> MissingDigests:
    reg.require("viewer")
    return MissingDigests(missing=sorted(reg.objects.missing(_check(d) for d in body.digests)))


class _Body:
    """The request body as a blocking file-like object, for the object store's hashing writer."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buf = chunks, b""

    def read(self, n: int = -1) -> bytes:
        # Joined once per read: appending to one bytes object copied it again per chunk.
        parts, size = [self._buf], len(self._buf)
        while n < 0 or size < n:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                break
            parts.append(chunk)
            size += len(chunk)
        data = b"".join(parts)
        if 0 <= n < len(data):
            data, self._buf = data[:n], data[n:]
        else:
            self._buf = b""
        return data


@router.put("/{digest}")
async def upload(reg: RegistryDep, digest: str, request: Request) -> dict[str, object]:
    """Store the body under digest; refused (and nothing kept) when the bytes hash otherwise."""
    reg.require("editor")
    _check(digest)
    if await run_in_threadpool(reg.objects.exists, digest):
        async for _ in request.stream():
            pass
        return {"digest": digest, "stored": False}
    queue = _bridge(request.stream())
    entry = await run_in_threadpool(reg.objects.put_stream, _Body(queue), digest)
    return {"digest": entry.digest, "size": entry.size, "stored": True}


def _bridge(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """An async body stream read from a worker thread."""
    import anyio.from_thread

    async def _next() -> bytes | None:
        # Up to CHUNK per hop between threads: the server receives the body 64 KB at a time,
        # and one hop per piece cost more than hashing and writing it.
        parts: list[bytes] = []
        size = 0
        while size < CHUNK:
            try:
                chunk = await stream.__anext__()
            except StopAsyncIteration:
                break
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts) if parts else None

    def gen() -> Iterator[bytes]:
        while (chunk := anyio.from_thread.run(_next)) is not None:
            if chunk:
                yield chunk

    return gen()


@router.get("/{digest}")
def download(reg: RegistryDep, digest: str) -> StreamingResponse:
    reg.require("viewer")
    reader = reg.objects.open(_check(digest))
    size = reg.objects.size(digest)

    def chunks() -> Iterator[bytes]:
        with reader:
            while chunk := reader.read(CHUNK):
                yield chunk

    return StreamingResponse(
        iterate_in_threadpool(chunks()),
        media_type="application/octet-stream",
        headers={"Content-Length": str(size)},
    )
