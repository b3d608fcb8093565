"""Aliases: movable names (``@champion``) that point at one version each."""

from __future__ import annotations

from mlpipex.domain import events as ev
from mlpipex.domain.refs import VersionRef, check_alias
from mlpipex.errors import NotFound
from mlpipex.service.context import Registry
from mlpipex.service.deploy import rollout
from mlpipex.service.registry.models import require_model
from mlpipex.service.registry.versions import resolve_row
from mlpipex.store import registry


def set_alias(reg: Registry, name: str, alias: str, version: int) -> int | None:
    """Point alias at version; returns the version it pointed at before (or None)."""
    check_alias(alias)
    reg.require("editor", name)
    now = reg.clock()
    with reg.store.write() as conn:
        model = require_model(conn, reg.workspace, name, lock=True)
        resolve_row(conn, reg, VersionRef(name, version=version))
        before = registry.alias_version(conn, model.id, alias)
        registry.set_alias(conn, model.id, alias, version)
        registry.update_model(conn, model.id, now)
        reg.record(
            conn,
            time=now,
            kind=ev.ALIAS_SET,
            model=name,
            version=version,
            payload={"alias": alias, "previous": before},
        )
        # Endpoints following @alias roll out the version it names now.
        rollout.sync_followers(conn, reg, name, rollout.Revert.of_alias(alias))
        return before


def delete_alias(reg: Registry, name: str, alias: str) -> None:
    reg.require("editor", name)
    now = reg.clock()
    with reg.store.write() as conn:
        model = require_model(conn, reg.workspace, name, lock=True)
        before = registry.alias_version(conn, model.id, alias)
        if before is None or not registry.delete_alias(conn, model.id, alias):
            raise NotFound(f"model {name!r} has no alias {alias!r}")
        reg.record(
            conn,
            time=now,
            kind=ev.ALIAS_DELETED,
            model=name,
            version=before,
            payload={"alias": alias},
        )
