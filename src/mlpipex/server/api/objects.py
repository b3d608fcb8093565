"""/api/v1/objects: content-addressed uploads and downloads. Clients ask which digests are
missing first, so bytes the server has are never sent again; or, for a large file, send it
once without naming it (POST), and the server names it by the digest it computes as it
stores it, so the client reads the file once instead of hashing it first."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from mlpipex.domain.api import DigestList, MissingDigests, StoredObject
from mlpipex.domain.digest import is_object_digest
from mlpipex.errors import Invalid
from mlpipex.server.deps import RegistryDep
from mlpipex.server.upload import store_body

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


@router.post("")
async def upload_unnamed(reg: RegistryDep, request: Request) -> StoredObject:
    """Store the body under the digest computed as it arrives; identical bytes are kept once."""
    reg.require("editor")
    entry = await store_body(request, lambda body, size: reg.objects.put_stream(body, size=size))
    return StoredObject(digest=entry.digest, size=entry.size)


@router.put("/{digest}")
async def upload(reg: RegistryDep, digest: str, request: Request) -> dict[str, object]:
    """Store the body under digest; refused (and nothing kept) when the bytes hash otherwise."""
    reg.require("editor")
    _check(digest)
    if await run_in_threadpool(reg.objects.exists, digest):
        async for _ in request.stream():
            pass
        return {"digest": digest, "stored": False}
    entry = await store_body(request, lambda body, size: reg.objects.put_stream(body, digest, size))
    return {"digest": entry.digest, "size": entry.size, "stored": True}


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
