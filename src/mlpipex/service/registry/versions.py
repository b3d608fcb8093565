"""Reading versions by any of their names, listing them, and editing their tags."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Connection

from mlpipex.domain import events as ev
from mlpipex.domain.models import ModelVersion, Page
from mlpipex.domain.refs import VersionRef, parse_version_ref
from mlpipex.errors import NotFound
from mlpipex.service.context import Registry
from mlpipex.service.registry.missing import T, newest, require_found
from mlpipex.service.registry.missing import VersionMissing as VersionMissing
from mlpipex.service.registry.models import check_tag, require_model
from mlpipex.store import registry
from mlpipex.store.registry import ModelRecord, VersionLookup, VersionRecord


def _found(
    conn: Connection, ws: str, ref: VersionRef, *, details: bool = False, files: bool = False
) -> VersionLookup:
    """The version NAME/3 or NAME@alias names, in one statement; NotFound says what is missing."""
    found = registry.find_version(
        conn, ws, ref.model, version=ref.version, alias=ref.alias, details=details, files=files
    )
    return require_found(ref, found)


def resolve_row(conn: Connection, reg: Registry, ref: VersionRef) -> VersionRecord:
    """The version a reference names; NotFound says which part is missing."""
    if ref.version is not None or ref.alias is not None:
        found = _found(conn, reg.workspace, ref).version
        assert found is not None
        return found
    return _newest(conn, reg, ref, lambda model_id, stage: newest_row(conn, model_id, stage))


def newest_row(conn: Connection, model_id: int, stage: str | None) -> VersionRecord | None:
    """The model's newest version in stage (in the model's spelling), or of all (None)."""
    return next(iter(registry.version_rows(conn, model_id, stage=stage, limit=1)), None)


def _newest(
    conn: Connection, reg: Registry, ref: VersionRef, find: Callable[[int, str | None], T | None]
) -> T:
    """NAME/latest or NAME:STAGE (``find``: the model's newest version in a stage, or any)."""
    model = registry.model_row(conn, reg.workspace, ref.model)
    return newest(ref, model, lambda m: _stage(reg, m, ref), find)


def _stage(reg: Registry, model: ModelRecord, ref: VersionRef) -> str | None:
    """The stage NAME:STAGE names, in the model's spelling; None for NAME/latest."""
    if ref.latest:
        return None
    assert ref.stage is not None
    return reg.policy_of(model.policy).stage(ref.stage)


def get_version(reg: Registry, ref: str | VersionRef, *, files: bool = True) -> ModelVersion:
    """A version by ``NAME/3``, ``NAME@alias``, ``NAME:Stage`` or ``models:/...``."""
    vref = parse_version_ref(ref) if isinstance(ref, str) else ref
    reg.require("viewer", vref.model)
    with reg.store.lookup() as conn:
        if vref.version is not None or vref.alias is not None:
            # The lookups `show` makes (NAME/3, NAME@alias): one statement with the details.
            full = _found(conn, reg.workspace, vref, details=True, files=files).full
            assert full is not None
            return full

        def newest_version(model_id: int, stage: str | None) -> ModelVersion | None:
            return registry.newest_version(conn, model_id, stage=stage, files=files)

        return _newest(conn, reg, vref, newest_version)


def list_versions(
    reg: Registry,
    name: str,
    limit: int = 100,
    page_token: str | None = None,
    stage: str | None = None,
) -> Page[ModelVersion]:
    """Newest first; the token is the last version number of the previous page."""
    reg.require("viewer", name)
    before = int(page_token) if page_token and page_token.isdigit() else None
    with reg.store.read() as conn:
        model = require_model(conn, reg.workspace, name)
        if stage is not None:
            stage = reg.policy_of(model.policy).stage(stage)
        rows = registry.version_rows(conn, model.id, stage=stage, limit=limit + 1, before=before)
        items = registry.to_versions(conn, rows[:limit])
    return Page(items, str(items[-1].version) if len(rows) > limit else None)


def set_version_tag(reg: Registry, name: str, version: int, key: str, value: str) -> None:
    check_tag(key, value)
    reg.require("editor", name)
    now = reg.clock()
    with reg.store.write() as conn:
        if not registry.set_version_tag_of(conn, reg.workspace, name, version, key, value):
            # none found: the read names what is missing (or finds one created meanwhile)
            row = resolve_row(conn, reg, VersionRef(name, version=version))
            registry.set_version_tag(conn, row.id, key, value)
        reg.record(
            conn,
            time=now,
            kind=ev.TAG_SET,
            model=name,
            version=version,
            payload={"key": key, "value": value},
        )


def delete_version_tag(reg: Registry, name: str, version: int, key: str) -> None:
    reg.require("editor", name)
    now = reg.clock()
    with reg.store.write() as conn:
        row = resolve_row(conn, reg, VersionRef(name, version=version))
        if not registry.delete_version_tag(conn, row.id, key):
            raise NotFound(f"version {name}/{version} has no tag {key!r}")
        reg.record(
            conn,
            time=now,
            kind=ev.TAG_DELETED,
            model=name,
            version=version,
            payload={"key": key},
        )


def update_description(reg: Registry, name: str, version: int, description: str) -> ModelVersion:
    reg.require("editor", name)
    now = reg.clock()
    with reg.store.write() as conn:
        row = resolve_row(conn, reg, VersionRef(name, version=version))
        registry.set_description(conn, row.id, description)
        reg.record(
            conn,
            time=now,
            kind=ev.VERSION_UPDATED,
            model=name,
            version=version,
            payload={"description": description},
        )
        return registry.to_versions(conn, [resolve_row(conn, reg, VersionRef(name, version))])[0]
