"""The artifact proxy (/api/2.0/mlflow-artifacts/artifacts): list with ?path=, download, upload
streamed into the content-addressed store, delete. Paths with '..' or a leading '/' are refused."""

from __future__ import annotations

import mimetypes
import posixpath
import re
from collections.abc import Iterator
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from mlpipex.domain.bounds import VersionNumber
from mlpipex.objects.store import VerifyingReader
from mlpipex.server.mlflow.wire import Args, Payload, Reg, file_infos, ok, parse
from mlpipex.server.upload import store_body
from mlpipex.service.mlflow import artifacts as mlflow_artifacts

router = APIRouter(prefix="/mlflow-artifacts/artifacts", tags=["mlflow artifacts"])
files = APIRouter(tags=["mlflow artifacts"])
CHUNK = 4 * 1024 * 1024


class Listing(Args):
    path: str = ""


@router.get("")
def list_artifacts(reg: Reg, args: Payload) -> Response:
    listed = mlflow_artifacts.listing(reg, parse(Listing, args).path)
    return ok({"files": file_infos(listed)})


@router.get("/{path:path}")
def download(reg: Reg, path: str) -> StreamingResponse:
    reader, size = mlflow_artifacts.open_file(reg, path)
    return file_response(reader, size, path)


class RunFile(Args):
    run_id: str = ""
    run_uuid: str = ""
    path: str


@files.get("/get-artifact")
def get_artifact(reg: Reg, args: Payload) -> StreamingResponse:
    """A run's artifact by run id and path (what MLflow's UI downloads)."""
    a = parse(RunFile, args)
    reader, size = mlflow_artifacts.open_run_file(reg, a.run_id or a.run_uuid, a.path)
    return file_response(reader, size, a.path)


class VersionFile(Args):
    name: str
    version: VersionNumber
    path: str


@files.get("/model-versions/get-artifact")
def get_version_artifact(reg: Reg, args: Payload) -> StreamingResponse:
    """A registered version's file by name, version and path (what MLflow's UI downloads)."""
    a = parse(VersionFile, args)
    reader, size = mlflow_artifacts.open_version_file(reg, a.name, a.version, a.path)
    return file_response(reader, size, a.path)


# MLflow's own model and project files have no extension but are text
_TEXT_NAMES = {"mlmodel", "mlproject"}
_TOKEN = re.compile(r"[\w.+\-]+", re.ASCII)


def file_response(reader: VerifyingReader, size: int, path: str) -> StreamingResponse:
    """The file as a download: its type by extension (never sniffed by the browser, whatever
    the request's Accept says) and its name as the attachment's file name."""
    name = posixpath.basename(path)
    kind = "text/plain" if name.lower() in _TEXT_NAMES else mimetypes.guess_type(name)[0]

    def chunks() -> Iterator[bytes]:
        with reader:
            while chunk := reader.read(CHUNK):
                yield chunk

    # the type is set as a header: as media_type, Starlette would append a charset to text/*
    return StreamingResponse(
        iterate_in_threadpool(chunks()),
        headers={
            "Content-Type": kind or "application/octet-stream",
            "Content-Length": str(size),
            "Content-Disposition": disposition(name),
            "X-Content-Type-Options": "nosniff",
        },
    )


def disposition(name: str) -> str:
    """A plain name as is (as MLflow writes it); any other quoted, with its UTF-8 form too."""
    if _TOKEN.fullmatch(name):
        return f"attachment; filename={name}"
    ascii_name = "".join(c if " " <= c < "\x7f" else "_" for c in name)
    escaped = ascii_name.replace("\\", "\\\\").replace('"', '\\"')
    return f"attachment; filename=\"{escaped}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.put("/{path:path}")
async def upload(reg: Reg, path: str, request: Request) -> Response:
    """The body is received on the event loop while a worker thread hashes and stores it."""
    mlflow_artifacts.locate(path)  # refuse a bad path before reading the body
    await store_body(request, lambda body, size: mlflow_artifacts.upload(reg, path, body, size))
    return ok()


@router.delete("")
@router.delete("/{path:path}")
def delete(reg: Reg, path: str = "") -> Response:
    mlflow_artifacts.delete(reg, path)
    return ok()
