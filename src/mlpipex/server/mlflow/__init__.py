"""The MLflow-compatible API: tracking and registry under /api/2.0/mlflow (and /ajax-api/2.0),
MLflow 3 logged models and traces (/api/3.0/mlflow/traces, OTLP /v1/traces), GenAI evaluation
datasets and scorers (/api/3.0/mlflow/datasets, /scorers), and the artifact proxy
/api/2.0/mlflow-artifacts, so the mlflow client
and every framework that logs to MLflow work unchanged against MLPipeX."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from mlpipex.server.mlflow import (
        artifacts,
        eval_datasets,
        experiments,
        logged_models,
        meta,
        models,
        runs,
        scorers,
        trace_analytics,
        traces,
        traces_v2,
        unsupported,
        versions,
        workspaces,
    )

    out = [meta.router, traces.ingest, artifacts.files]
    for prefix in ("/api/2.0", "/ajax-api/2.0"):
        api = APIRouter(prefix=prefix)
        for module in (experiments, runs, models, versions, logged_models, artifacts, traces_v2):
            # the ajax-api copy serves the same routes; documenting them twice would only repeat
            api.include_router(module.router, include_in_schema=prefix == "/api/2.0")
        out.append(api)
    # MLflow serves its trace routes under 2.0 (tags, deletes) and 3.0 (the rest) alike
    for prefix in ("/api/2.0", "/api/3.0", "/ajax-api/2.0", "/ajax-api/3.0"):
        api = APIRouter(prefix=prefix)
        for module in (traces, trace_analytics, scorers, eval_datasets):
            api.include_router(module.router, include_in_schema=prefix == "/api/3.0")
        out.append(api)
    for prefix in ("/api/3.0", "/ajax-api/3.0"):
        api = APIRouter(prefix=prefix)
        api.include_router(workspaces.router, include_in_schema=prefix == "/api/3.0")
        out.append(api)
    out.append(unsupported.router)
    return out
