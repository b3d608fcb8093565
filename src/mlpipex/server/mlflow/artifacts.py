"""The artifact proxy (/api/2.0/mlflow-artifacts/artifacts): list with ?path=, download, upload
streamed into the content-addressed store, delete. Paths with '..' or a leading '/' are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio.from_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from mlpipex.server.deps import RegistryDep
from mlpipex.server.mlflow.wire import Args, Payload, file_infos, ok, parse
from mlpipex.service import mlflow_artifacts

router = APIRouter(prefix="/mlflow-artifacts/artifacts", tags=["mlflow artifacts"])
CHUNK = 4 * 1024 * 1024


class Listing(Args):
    path: str = ""


@router.get("")
def list_artifacts(reg: RegistryDep, args: Payload) -> Response:
    listed = mlflow_artifacts.listing(reg, parse(Listing, args).path)
    return ok({"files": file_infos(listed)})


@router.get("/{path:path}")
def download(reg: RegistryDep, path: str) -> StreamingResponse:
    reader, size = mlflow_artifacts.open_file(reg, path)

    def chunks() -> Iterator[bytes]:
        with reader:
            while chunk := reader.read(CHUNK):
                yield chunk

    return StreamingResponse(
        iterate_in_threadpool(chunks()),
        media_type="application/octet-stream",
        headers={"Content-Length": str(size)},
    )


@router.put("/{path:path}")
async def upload(reg: RegistryDep, path: str, request: Request) -> Response:
    mlflow_artifacts.locate(path)  # refuse a bad path before reading the body
    await run_in_threadpool(mlflow_artifacts.upload, reg, path, _Body(request.stream()))
    return ok()


@router.delete("")
@router.delete("/{path:path}")
def delete(reg: RegistryDep, path: str = "") -> Response:
    mlflow_artifacts.delete(reg, path)
    return ok()


class _Body:
    """The request body as a blocking file-like object, read from a worker thread."""

    def __init__(self, stream: AsyncIterator[bytes]) -> None:
        self._stream, self._buf, self._done = stream, bytearray(), False

    async def _next(self) -> bytes | None:
        try:
            return await self._stream.__anext__()
        except StopAsyncIteration:
            return None

    def read(self, n: int = -1) -> bytes:
        while not self._done and (n < 0 or len(self._buf) < n):
            chunk = anyio.from_thread.run(self._next)
            if chunk is None:
                self._done = True
            else:
                self._buf += chunk
        size = len(self._buf) if n < 0 else min(n, len(self._buf))
        out = bytes(self._buf[:size])
        del self._buf[:size]
        return out
