"""The registry's nouns as plain immutable values."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from mlpipex.domain.manifest import FileEntry


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A named, content-hashed pointer to data: a file, a directory manifest, a pointer or a URI."""

    name: str
    uri: str
    digest: str  # "algo:hex"
    size: int | None = None
    stage: str | None = None  # the pipeline stage that produced it, when known


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    name: str
    description: str
    policy: dict[str, Any] | None  # None: the registry's default policy applies
    tags: dict[str, str]
    aliases: dict[str, int]
    created_at: int  # milliseconds since the epoch, as MLflow
    updated_at: int
    last_version: int


# Set at registration from the package, so listings name the framework without reading it.
FRAMEWORK_TAG = "mlpipex.framework"
# Set at registration on a package whose loading runs its code (a pickle, Python code).
PICKLE_TAG = "mlpipex.pickle"


@dataclass(frozen=True, slots=True)
class ModelVersion:
    model: str
    version: int
    stage: str
    status: str  # READY, or REFUSED is never stored: a refused version does not exist
    description: str
    commit: str | None
    commit_dirty: bool
    run_id: str | None
    flavor: str | None
    artifact_digest: str
    artifact_size: int
    created_at: int
    created_by: str
    stage_entered_at: int
    metrics: dict[str, float] = field(default_factory=dict)
    datasets: tuple[DatasetRef, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    files: tuple[FileEntry, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.model}/{self.version}"

    @property
    def framework(self) -> str | None:
        """The framework and version the package was saved with ("xgboost 3.2.0"), if known."""
        return self.tags.get(FRAMEWORK_TAG)


@dataclass(frozen=True, slots=True)
class Approval:
    actor: str
    comment: str
    created_at: int


class RequestStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    REFUSED = "refused"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class TransitionRequest:
    id: int
    model: str
    version: int
    to_stage: str
    status: RequestStatus
    requested_by: str
    reason: str
    created_at: int
    approvals: tuple[Approval, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of the append-only, hash-chained audit log."""

    seq: int
    time: int
    actor: str
    kind: str
    model: str | None
    version: int | None
    reason: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None
