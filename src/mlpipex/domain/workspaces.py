"""Workspaces: the namespaces one control plane keeps for many teams, and their quotas."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from mlpipex.errors import Invalid, NotFound

# What a registry that never enabled workspaces holds everything in; enabling them later keeps
# everything there.
DEFAULT_WORKSPACE = "default"

# MLflow's rule (Kubernetes-style names), so a name one client accepts the other accepts too.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_RESERVED = frozenset({"workspaces", "api", "ajax-api", "static-files"})
NAME_MAX = 63


def check_workspace_name(name: str) -> str:
    """name when it may name a workspace, else Invalid saying what a name looks like."""
    if name == DEFAULT_WORKSPACE:
        return name
    if not 2 <= len(name) <= NAME_MAX or not _NAME.fullmatch(name):
        raise Invalid(
            f"invalid workspace name {name[:80]!r}",
            hint=f"2 to {NAME_MAX} lowercase letters, digits and inner hyphens, e.g. fraud-team",
        )
    if name in _RESERVED:
        raise Invalid(f"the workspace name {name!r} is reserved", hint="choose another name")
    return name


class Quota(StrEnum):
    """What a workspace may be limited in."""

    MODELS = "models"
    VERSIONS = "versions"
    BYTES = "bytes"
    ENDPOINTS = "endpoints"


@dataclass(frozen=True)
class Quotas:
    """Upper limits (None: unlimited)."""

    models: int | None = None
    versions: int | None = None
    bytes: int | None = None
    endpoints: int | None = None

    def limit(self, quota: Quota) -> int | None:
        limit: int | None = getattr(self, quota.value)
        return limit

    def to_json(self) -> dict[str, int | None]:
        return {q.value: self.limit(q) for q in Quota}


@dataclass(frozen=True)
class Usage:
    models: int
    versions: int
    bytes: int
    endpoints: int

    def of(self, quota: Quota) -> int:
        used: int = getattr(self, quota.value)
        return used

    def to_json(self) -> dict[str, int]:
        return {q.value: self.of(q) for q in Quota}


@dataclass(frozen=True)
class Workspace:
    name: str
    description: str
    default_artifact_root: str | None
    created_at: int
    quotas: Quotas

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "default_artifact_root": self.default_artifact_root,
            "created_at": self.created_at,
            "quotas": self.quotas.to_json(),
        }


class WorkspaceMissing(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"workspace {name!r} does not exist",
            hint=f"create it with `mlpipex workspace create {name}`, "
            "or see `mlpipex workspace list`",
        )
        self.name = name
