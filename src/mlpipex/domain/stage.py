"""The built-in stages, apart from the policy (pydantic) so that reading versions needs neither."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Stage(StrEnum):
    """The built-in stages (a policy may name others). NONE is "no stage", where every version
    starts; its value is "None", as stored and as MLflow's API sends it."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"


DEFAULT_STAGES = [s.value for s in Stage]  # a policy's stages unless it names its own


def canonical_stage(stages: Iterable[str], name: str) -> str | None:
    """The spelling of a stage name among stages (matched without case), None when it is none."""
    return next((s for s in stages if s.lower() == str(name).lower()), None)
