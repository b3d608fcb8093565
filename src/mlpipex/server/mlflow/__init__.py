"""The MLflow-compatible API: tracking and registry under /api/2.0/mlflow (and /ajax-api/2.0),
MLflow 3 logged models and traces (/api/3.0/mlflow/traces, OTLP /v1/traces), GenAI evaluation
datasets and scorers (/api/3.0/mlflow/datasets, /scorers), and the artifact proxy
/api/2.0/mlflow-artifacts, so the mlflow client
and every framework that logs to MLflow work unchanged against MLPipeX."""

from __future__ import annotations

from fastapi import APIRouter

from mlpipex.server.sections import sections


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

    out = sections([meta.router, traces.ingest, artifacts.files])
    modules = (experiments, runs, models, versions, logged_models, artifacts, traces_v2)
    for prefix in ("/api/2.0", "/ajax-api/2.0"):
        # the ajax-api copy serves the same routes; documenting them twice would only repeat
        out += sections([m.router for m in modules], prefix, include_in_schema=prefix == "/api/2.0")
    # MLflow serves its trace routes under 2.0 (tags, deletes) and 3.0 (the rest) alike
    genai = (traces, trace_analytics, scorers, eval_datasets)
    for prefix in ("/api/2.0", "/api/3.0", "/ajax-api/2.0", "/ajax-api/3.0"):
        out += sections([m.router for m in genai], prefix, include_in_schema=prefix == "/api/3.0")
    for prefix in ("/api/3.0", "/ajax-api/3.0"):
        out += sections([workspaces.router], prefix, include_in_schema=prefix == "/api/3.0")
    return [*out, *sections([unsupported.router])]
