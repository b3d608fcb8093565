"""What the registry's queries return: frozen records of the rows, with the database ids the
services key their updates by (the domain's values, ``domain/models.py``, carry no ids), and a
version's record made the domain's value. Free of SQLAlchemy: the plain SQLite reader
(``sqlite_read.py``) builds the same values from the same rows."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.models import DatasetRef, ModelVersion

if TYPE_CHECKING:
    import sqlalchemy as sa


@dataclass(frozen=True, slots=True)
class ModelRecord:
    id: int
    name: str
    description: str
    policy: dict[str, Any] | None  # None: the registry's default policy applies
    last_version: int
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, r: sa.Row[Any]) -> ModelRecord:
        return cls(
            r.id, r.name, r.description, r.policy, r.last_version, r.created_at, r.updated_at
        )


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """A version's own columns; its metrics, tags, datasets, aliases and files are attached when
    it becomes a domain ``ModelVersion`` (``details.to_versions``)."""

    id: int
    model_id: int
    model_name: str
    version: int
    stage: str
    status: str
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

    @classmethod
    def of(cls, r: Any) -> VersionRecord:
        return cls(
            id=r.id,
            model_id=r.model_id,
            model_name=r.model_name,
            version=r.version,
            stage=r.stage,
            status=r.status,
            description=r.description,
            commit=r.commit,
            commit_dirty=bool(r.commit_dirty),
            run_id=r.run_id,
            flavor=r.flavor,
            artifact_digest=r.artifact_digest,
            artifact_size=r.artifact_size,
            created_at=r.created_at,
            created_by=r.created_by,
            stage_entered_at=r.stage_entered_at,
        )


# The labels of a version's detail columns (``details.detail_columns``): JSON arrays of arrays.
METRICS, TAGS, DATASETS, ALIASES, FILES = (
    "d_metrics",
    "d_tags",
    "d_datasets",
    "d_aliases",
    "d_files",
)

# The columns a record and the domain's version share (all but the ids, the model's name and the
# details).
_SHARED = sorted({f.name for f in fields(VersionRecord)} & {f.name for f in fields(ModelVersion)})


def to_version(r: VersionRecord, row: Any, *, files: bool) -> ModelVersion:
    """The domain's version from its record and the row that carries the detail columns (with
    the files when ``files``), their JSON decoded."""

    def rows(label: str) -> list[list[Any]]:
        # PostgreSQL aggregates no rows to NULL
        return getattr(row, label) or []

    return ModelVersion(
        model=r.model_name,
        **{f: getattr(r, f) for f in _SHARED},
        # float() also reads what JSON cannot hold as a number ("NaN", "Infinity")
        metrics={k: float(x) for k, x in rows(METRICS)},
        tags={k: x for k, x in rows(TAGS)},
        datasets=tuple(DatasetRef(*d) for d in rows(DATASETS)),
        aliases=tuple(sorted(x for (x,) in rows(ALIASES))),
        files=tuple(FileEntry(*f) for f in rows(FILES)) if files else (),
    )


@dataclass(frozen=True, slots=True)
class VersionLookup:
    """What a lookup by number or alias found, the model being there."""

    model_id: int
    # where the alias points (None: no such alias); for a lookup by number, that number
    alias_version: int | None
    version: VersionRecord | None  # None: no such version
    full: ModelVersion | None = None  # the version with its details, when they were asked for


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """A pending transition request, as promotion and approval read it."""

    id: int
    version_id: int
    to_stage: str
    requested_by: str
    reason: str
    created_at: int
