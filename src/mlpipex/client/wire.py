"""JSON from the native API back into domain values (the server encodes the same dataclasses)."""

from __future__ import annotations

from typing import Any

from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.models import (
    Approval,
    DatasetRef,
    Event,
    ModelVersion,
    Page,
    RegisteredModel,
    TransitionRequest,
)


def model(d: dict[str, Any]) -> RegisteredModel:
    return RegisteredModel(**d)


def version(d: dict[str, Any]) -> ModelVersion:
    return ModelVersion(
        **{
            **d,
            "datasets": tuple(DatasetRef(**x) for x in d.get("datasets", ())),
            "files": tuple(FileEntry(**x) for x in d.get("files", ())),
            "aliases": tuple(d.get("aliases", ())),
        }
    )


def request(d: dict[str, Any] | None) -> TransitionRequest | None:
    if d is None:
        return None
    return TransitionRequest(**{**d, "approvals": tuple(Approval(**a) for a in d["approvals"])})


def event(d: dict[str, Any]) -> Event:
    return Event(**d)


def models_page(d: dict[str, Any]) -> Page[RegisteredModel]:
    return Page([model(x) for x in d["items"]], d.get("next_token"))


def versions_page(d: dict[str, Any]) -> Page[ModelVersion]:
    return Page([version(x) for x in d["items"]], d.get("next_token"))
