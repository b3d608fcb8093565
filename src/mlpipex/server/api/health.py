"""Liveness and version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mlpipex import __version__
from mlpipex.server.deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(st: StateDep) -> dict[str, Any]:
    """200 when the database answers."""
    st.store.schema_revision()
    return {"status": "ok", "version": __version__}


@router.get("/api/v1/version")
def version() -> dict[str, str]:
    return {"version": __version__}
