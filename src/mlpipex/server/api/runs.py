"""/api/v1/runs/{run_id}/artifacts: a run's artifact files with their digests, which the MLflow
listing does not carry and the remote client needs to list and load them verified."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from mlpipex.server.deps import RegistryDep
from mlpipex.service.tracking import runs as tracking

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])


@router.get("/{run_id}/artifacts")
def list_artifacts(
    reg: RegistryDep, run_id: str, path: str = Query("", max_length=1024)
) -> list[dict[str, Any]]:
    return [
        {"path": f.path, "digest": f.digest, "size": f.size}
        for f in tracking.list_artifacts(reg, run_id, path)
    ]
