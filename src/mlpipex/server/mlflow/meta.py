"""What MLflow clients ask the server itself: its version and its artifact capabilities."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from mlpipex import __version__

router = APIRouter(tags=["mlflow"])


@router.get("/version")
def version() -> PlainTextResponse:
    return PlainTextResponse(__version__)


@router.get("/api/3.0/mlflow/server-info")
@router.get("/ajax-api/3.0/mlflow/server-info")
def server_info() -> JSONResponse:
    """Uploads and downloads go through the proxy whole (no multipart, no presigned URLs)."""
    return JSONResponse(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": False,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
        }
    )
