"""HTTP routers: the native API (one module per resource) and the MLflow-compatible API."""

from __future__ import annotations

from fastapi import APIRouter

from mlpipex.server.sections import sections


def routers() -> list[APIRouter]:
    from mlpipex.server.api import (
        access,
        audit,
        endpoints,
        health,
        models,
        monitor,
        objects,
        runs,
        versions,
        webhooks,
        workspaces,
    )

    out = [
        health.router,
        models.router,
        versions.router,
        objects.router,
        audit.router,
        access.router,
        webhooks.router,
        endpoints.router,
        monitor.router,
        runs.router,
        workspaces.router,
    ]
    from mlpipex.server.ui import ui_routers

    out = sections(out) + ui_routers()
    try:  # the MLflow-compatible API, when present
        from mlpipex.server.mlflow import routers as mlflow_routers
    except ImportError:
        return out
    extra: list[APIRouter] = mlflow_routers()
    return out + extra
