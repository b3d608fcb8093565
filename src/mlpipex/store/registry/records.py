"""What the registry's queries return: frozen records of the rows, with the database ids the
services key their updates by (the domain's values, ``domain/models.py``, carry no ids), and a
version's record made the domain's value. Free of SQLAlchemy: the plain SQLite reader
(``sqlite_read.py``) builds the same values from the same rows."""

from __future__ import annotations

import operator
from collections.abc import Sequence
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
        # every field read by name in one C call (a page of versions is 51 rows)
        (id, model_id, name, version, stage, status, desc, commit, dirty, run_id, flavor, digest,
         size, created, by, entered) = _RECORD_FIELDS(r)  # fmt: skip
        return cls(
            id, model_id, name, version, stage, status, desc, commit, bool(dirty), run_id,
            flavor, digest, size, created, by, entered,
        )  # fmt: skip


_RECORD_NAMES = [f.name for f in fields(VersionRecord)]
_RECORD_FIELDS = operator.attrgetter(*_RECORD_NAMES)


# The labels of a version's detail columns (``details.detail_columns``): JSON arrays of arrays.
METRICS, TAGS, DATASETS, ALIASES, FILES = (
    "d_metrics",
    "d_tags",
    "d_datasets",
    "d_aliases",
    "d_files",
)


def to_version(r: VersionRecord, row: Any, *, files: bool) -> ModelVersion:
    """The domain's version from its record and the row that carries the detail columns (with
    the files when ``files``), their JSON decoded."""
    return _version(
        r.model_name,
        r.version,
        r.stage,
        r.status,
        r.description,
        r.commit,
        r.commit_dirty,
        r.run_id,
        r.flavor,
        r.artifact_digest,
        r.artifact_size,
        r.created_at,
        r.created_by,
        r.stage_entered_at,
        getattr(row, METRICS),
        getattr(row, TAGS),
        getattr(row, DATASETS),
        getattr(row, ALIASES),
        getattr(row, FILES) if files else None,
    )


def version_at(row: Sequence[Any]) -> ModelVersion:
    """The domain's version from a row that begins with ``details.version_columns``, read by
    position: a row's columns by name cost a third of a microsecond each, and a page of
    versions is 50 rows of 18 columns."""
    (model, number, stage, status, description, commit, dirty, run_id, flavor, digest, size,
     created, by, entered, metrics, tags, datasets, aliases) = row[:18]  # fmt: skip
    return _version(
        model, number, stage, status, description, commit, bool(dirty), run_id, flavor, digest,
        size, created, by, entered, metrics, tags, datasets, aliases, None,
    )  # fmt: skip


def _version(
    model: str,
    number: int,
    stage: str,
    status: str,
    description: str,
    commit: str | None,
    dirty: bool,
    run_id: str | None,
    flavor: str | None,
    digest: str,
    size: int,
    created: int,
    by: str,
    entered: int,
    metrics: list[list[Any]] | None,
    tags: list[list[Any]] | None,
    datasets: list[list[Any]] | None,
    aliases: list[list[Any]] | None,
    files: list[list[Any]] | None,
) -> ModelVersion:
    # by position, checked by mypy (by keyword from a dict, as before, cost more than the rest);
    # PostgreSQL aggregates no rows to NULL
    return ModelVersion(
        model,
        number,
        stage,
        status,
        description,
        commit,
        dirty,
        run_id,
        flavor,
        digest,
        size,
        created,
        by,
        entered,
        # float() also reads what JSON cannot hold as a number ("NaN", "Infinity")
        metrics={k: float(x) for k, x in metrics or ()},
        tags={k: x for k, x in tags or ()},
        datasets=tuple(DatasetRef(*d) for d in datasets or ()),
        aliases=tuple(sorted(x for (x,) in aliases or ())),
        files=tuple(FileEntry(*f) for f in files or ()),
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
