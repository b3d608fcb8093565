"""What MLflow clients ask the server itself: its version and its artifact capabilities."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from mlpipex.server.deps import StateDep

router = APIRouter(tags=["mlflow"])

# The MLflow release whose REST API this server speaks: the mlflow client gates features (logged
# models, traces) on this answer, so it names MLflow's version, not MLPipeX's (/api/v1/version).
MLFLOW_API_VERSION = "3.17.2"


@router.get("/version")
def version() -> PlainTextResponse:
    return PlainTextResponse(MLFLOW_API_VERSION)


@router.get("/api/3.0/mlflow/server-info")
@router.get("/ajax-api/3.0/mlflow/server-info")
def server_info(st: StateDep) -> JSONResponse:
    """Uploads and downloads go through the proxy whole (no multipart, no presigned URLs)."""
    return JSONResponse(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": st.settings.enable_workspaces,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
        }
    )
