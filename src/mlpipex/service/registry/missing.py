"""The errors a lookup raises when what a reference names is not there, and the one rule that
picks among them, apart from the database layer: `show`'s plain read (``plain.py``) raises the
very errors the store's lookup does."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mlpipex.domain.refs import VersionRef
from mlpipex.errors import NotFound
from mlpipex.store.registry.records import ModelRecord, VersionLookup

T = TypeVar("T")


class ModelMissing(NotFound):
    """No model by that name; typed so a front end can say it in its own words (MLflow's)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"model {name!r} does not exist", hint="see `mlpipex models list`")
        self.name = name


def missing_model(name: str) -> NotFound:
    return ModelMissing(name)


class VersionMissing(NotFound):
    """No version by that reference; typed so a front end can say it in its own words."""

    def __init__(self, ref: VersionRef) -> None:
        what = f"{ref.model}/{ref.version}" if ref.alias is None else f"{ref.model}@{ref.alias}"
        super().__init__(f"version {what} does not exist")
        self.ref = ref


def require_found(ref: VersionRef, found: VersionLookup | None) -> VersionLookup:
    """What a lookup of NAME/3 or NAME@alias found; NotFound says which part is missing."""
    if found is None:
        raise missing_model(ref.model)
    if found.alias_version is None:
        raise NotFound(f"model {ref.model!r} has no alias {ref.alias!r}")
    if found.version is None:
        raise VersionMissing(ref)
    return found


def no_newest(ref: VersionRef, stage: str | None) -> NotFound:
    """What NAME/latest (stage None) or NAME:STAGE finds when the model has no such version."""
    if stage is None:
        return NotFound(f"version {ref.model}/latest does not exist")
    return NotFound(f"model {ref.model!r} has no version in {stage}")


def newest(
    ref: VersionRef,
    model: ModelRecord | None,
    stage_of: Callable[[ModelRecord], str | None],
    find: Callable[[int, str | None], T | None],
) -> T:
    """What NAME/latest or NAME:STAGE names, the one way every reader finds it: the model (the
    one found by name), the stage in its spelling (``stage_of``; None for NAME/latest), then its
    newest version there (``find(model id, stage)``); NotFound says which part is missing."""
    if model is None:
        raise missing_model(ref.model)
    stage = stage_of(model)
    found = find(model.id, stage)
    if found is None:
        raise no_newest(ref, stage)
    return found
