"""The app factory's choices that no route shows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace


def test_fastapi_looks_for_an_opentelemetry_provider_only_when_told_to(
    make_app: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    looked: list[str] = []
    provider = trace.get_tracer_provider

    def counted() -> trace.TracerProvider:
        looked.append("tracer")
        return provider()

    monkeypatch.setattr(trace, "get_tracer_provider", counted)
    assert make_app().get("/api/2.0/mlflow/experiments/search").status_code == 200
    assert looked == []
    assert make_app(telemetry=True).get("/api/2.0/mlflow/experiments/search").status_code == 200
    assert looked
