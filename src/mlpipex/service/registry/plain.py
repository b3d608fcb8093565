"""``get_version`` on an embedded SQLite registry without SQLAlchemy, for the CLI's `show`: the
store's plain reader (``store/registry/sqlite_read.py``) runs the statements the store would,
and the answer is the same ``ModelVersion`` or the same error. Whatever the registry's open
would change, or refuse, or this reader cannot answer exactly, returns None and the caller runs
``open_registry`` and ``get_version``, so the answer never differs."""

from __future__ import annotations

from pathlib import Path

from mlpipex.domain.models import ModelVersion
from mlpipex.domain.refs import VersionRef, parse_version_ref
from mlpipex.domain.stage import DEFAULT_STAGES, canonical_stage
from mlpipex.domain.workspaces import DEFAULT_WORKSPACE
from mlpipex.location import OBJECTS_SETTING, Location, PlainSettings
from mlpipex.service.registry.missing import newest, require_found
from mlpipex.store.registry.records import ModelRecord
from mlpipex.store.registry.sqlite_read import PlainReader, Unreadable


def get_version_plain(loc: Location, settings: PlainSettings, ref: str) -> ModelVersion | None:
    """The version ``get_version(open_registry(loc, settings, read_only=True), ref)`` returns,
    or None when only that can say."""
    db = _sqlite_file(loc)
    if db is None:
        return None
    try:
        with PlainReader(db) as r:
            if not _opens_unchanged(r, loc, settings):
                return None
            vref = parse_version_ref(ref)
            # An embedded registry's caller acts as admin (service/context.py's Actor), so the
            # viewer check get_version makes passes; no rule is skipped here.
            ws = settings.workspace or DEFAULT_WORKSPACE
            if vref.version is not None or vref.alias is not None:
                found = r.find_version(ws, vref.model, version=vref.version, alias=vref.alias)
                full = require_found(vref, found).full
                assert full is not None
                return full
            return _newest(r, ws, vref)
    except Unreadable:
        return None


def _newest(r: PlainReader, ws: str, vref: VersionRef) -> ModelVersion:
    """NAME/latest or NAME:STAGE as get_version reads them; a stage only of a model without a
    policy of its own (a stored one, which may name other stages, is parsed with pydantic)."""

    def stage_of(model: ModelRecord) -> str | None:
        if vref.latest:
            return None
        assert vref.stage is not None
        if model.policy:
            raise Unreadable("a policy of its own")
        # the strict preset's stages (Registry.policy_of without a default): the built-in ones
        stage = canonical_stage(DEFAULT_STAGES, vref.stage)
        if stage is None:
            raise Unreadable("not a built-in stage")  # the policy's refusal names its stages
        return stage

    def newest_version(model_id: int, stage: str | None) -> ModelVersion | None:
        return r.newest_version(model_id, stage=stage)

    return newest(vref, r.model(ws, vref.model), stage_of, newest_version)


def _sqlite_file(loc: Location) -> Path | None:
    """The registry's database file when it is SQLite and there (else the store creates it);
    its path is the URL's rest as it is, as the store takes it."""
    if loc.kind == "http" or not loc.url.startswith("sqlite:///"):
        return None
    path = Path(loc.url.removeprefix("sqlite:///"))
    return path if path.is_file() else None


def _opens_unchanged(r: PlainReader, loc: Location, settings: PlainSettings) -> bool:
    """Whether ``open_registry(..., read_only=True)`` would open this registry without writing
    or refusing anything (a missing or bad workspace, no object store known, the objects URL
    to record) and with a local object store (a remote one is built through fsspec, which may
    refuse it)."""
    ws = settings.workspace or DEFAULT_WORKSPACE
    if ws == DEFAULT_WORKSPACE and settings.objects:
        recorded: str | None = settings.objects
    else:
        recorded = r.setting(OBJECTS_SETTING)
        if ws != DEFAULT_WORKSPACE and not r.workspace_exists(ws):
            return False
    objects = settings.objects or recorded or loc.objects
    if recorded is None or objects is None:
        return False
    return "://" not in objects or objects.startswith("file://")
