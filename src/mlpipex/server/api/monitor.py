"""Monitoring routes: /metrics (Prometheus), the prediction log agents post and people read,
feedback (labels) and live quality, drift per serving version, the HTML report, open alerts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from mlpipex.domain.bounds import Millis, VersionNumber, Window
from mlpipex.errors import Invalid
from mlpipex.monitor import alerts, exposition, feedback, predictions, quality, serving
from mlpipex.server.deps import RegistryDep
from mlpipex.service.deploy import endpoints
from mlpipex.serving import codec

router = APIRouter(tags=["monitoring"])


@router.get("/metrics")
def metrics(reg: RegistryDep) -> Response:
    reg.require("viewer")
    return Response(exposition.render(reg), media_type="text/plain; version=0.0.4")


@router.post("/api/v1/agent/predictions")
def ingest(reg: RegistryDep, body: dict[str, Any] = Body(...)) -> dict[str, int]:
    """A batch of logged predictions from an agent: {"endpoint", "rows": [{"time", "version",
    "latency_ms", "status", "input", "output"}]}."""
    endpoint, rows = body.get("endpoint"), body.get("rows")
    if not isinstance(endpoint, str) or not isinstance(rows, list):
        raise Invalid('a prediction batch is {"endpoint": NAME, "rows": [...]}')
    return {"stored": predictions.ingest(reg, endpoint, rows)}


@router.get("/api/v1/endpoints/{name}/predictions")
def read_log(
    reg: RegistryDep,
    name: str,
    since_ms: Millis = 0,
    version: VersionNumber | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> list[dict[str, Any]]:
    table = predictions.read(reg, name, since_ms, version, limit)
    return predictions.records(table)


@router.post(
    "/api/v1/endpoints/{name}/feedback",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "array", "items": {}}}},
        }
    },
)
async def log_feedback(reg: RegistryDep, name: str, request: Request) -> dict[str, Any]:
    """Labels for logged predictions: [{"request_id", "label"}], up to 10,000 a call. Answers
    how many were stored and how many ids the prediction log does not know."""
    raw = await request.body()

    def ingest() -> feedback.FeedbackResult:
        # access first, so a refusal's shape tells a stranger nothing; then the serving codec
        # (orjson), off the event loop: most of a large batch's time was parsing
        reg.require("editor", endpoints.endpoint(reg, name).model)
        return feedback.ingest(reg, name, codec.loads(raw))

    return (await run_in_threadpool(ingest)).to_dict()


@router.get("/api/v1/endpoints/{name}/quality")
def live_quality(
    reg: RegistryDep, name: str, version: VersionNumber | None = None, window: str | None = None
) -> dict[str, Any]:
    """Per version: labelled predictions in the window and their metrics (value, 95% interval)
    beside the registered value of the same name."""
    return quality.measure(reg, name, version, window).to_dict()


@router.get("/api/v1/endpoints/{name}/drift")
def drift(
    reg: RegistryDep, name: str, version: VersionNumber | None = None, window: Window | None = None
) -> dict[str, Any]:
    v, result = serving.drift(reg, name, version, window)
    return {"endpoint": name, "version": v, **result.to_dict()}


@router.get("/api/v1/endpoints/{name}/report", response_class=HTMLResponse)
def report(reg: RegistryDep, name: str, since_ms: Millis = 0) -> HTMLResponse:
    return HTMLResponse(serving.report(reg, name, since_ms))


@router.get("/api/v1/alerts")
def open_alerts(reg: RegistryDep, endpoint: str | None = None) -> list[dict[str, Any]]:
    reg.require("viewer")
    return [asdict(a) for a in alerts.open_alerts(reg, endpoint)]
