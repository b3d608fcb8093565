"""Registered models: create, read, list, describe, tag, set their policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from mlpipex.domain import events as ev
from mlpipex.domain.models import Page, RegisteredModel
from mlpipex.domain.refs import check_model_name
from mlpipex.domain.workspaces import Quota
from mlpipex.errors import AlreadyExists, Invalid, NotFound
from mlpipex.service.access import workspaces
from mlpipex.service.context import Registry
from mlpipex.service.registry.missing import ModelMissing as ModelMissing
from mlpipex.service.registry.missing import missing_model as missing_model
from mlpipex.store import registry
from mlpipex.store.registry import ModelRecord

if TYPE_CHECKING:  # parsed where a policy is set: reading versions (`show`) needs no pydantic
    from mlpipex.domain.policy import Policy

MAX_TAG_KEY = 250
MAX_TAG_VALUE = 8000


def check_tag(key: str, value: str) -> None:
    if not key or len(key) > MAX_TAG_KEY:
        raise Invalid(f"tag key {key[:40]!r} must be 1 to {MAX_TAG_KEY} characters")
    if len(value) > MAX_TAG_VALUE:
        raise Invalid(f"tag {key!r}: value of {len(value)} characters exceeds {MAX_TAG_VALUE}")


def require_model(conn: Connection, ws: str, name: str, *, lock: bool = False) -> ModelRecord:
    row = registry.model_row(conn, ws, name, lock=lock)
    if row is None:
        raise missing_model(name)
    return row


class ModelExists(AlreadyExists):
    def __init__(self, name: str) -> None:
        super().__init__(f"model {name!r} already exists")
        self.name = name


def create_model(
    reg: Registry,
    name: str,
    description: str = "",
    policy: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> RegisteredModel:
    check_model_name(name)
    reg.require("editor")
    from mlpipex.domain.policy import parse_policy

    stored = parse_policy(policy).model_dump(mode="json") if policy else None
    for k, v in (tags or {}).items():
        check_tag(k, v)
    now = reg.clock()
    with reg.store.write() as conn:
        if registry.model_row(conn, reg.workspace, name) is not None:
            raise ModelExists(name)
        workspaces.check_quota(conn, reg.workspace, Quota.MODELS)
        mid = registry.insert_model(conn, reg.workspace, name, description, stored, now)
        for k, v in (tags or {}).items():
            registry.set_model_tag(conn, mid, k, v)
        reg.record(
            conn,
            time=now,
            kind=ev.MODEL_CREATED,
            model=name,
            payload={"description": description, "policy": stored},
        )
        return registry.to_model(conn, require_model(conn, reg.workspace, name))


def get_model(reg: Registry, name: str) -> RegisteredModel:
    reg.require("viewer", name)
    with reg.store.read() as conn:
        return registry.to_model(conn, require_model(conn, reg.workspace, name))


def list_models(
    reg: Registry, query: str | None = None, limit: int = 100, page_token: str | None = None
) -> Page[RegisteredModel]:
    with reg.store.read() as conn:
        rows = registry.list_model_rows(
            conn, reg.workspace, query, limit + 1, page_token, reg.visible_models()
        )
        more = len(rows) > limit
        items = [registry.to_model(conn, r) for r in rows[:limit]]
    return Page(items, items[-1].name if more else None)


def stage_summary(reg: Registry, names: list[str]) -> dict[str, dict[str, list[int]]]:
    """For each model, the versions in each stage other than None."""
    with reg.store.read() as conn:
        rows = {n: registry.model_row(conn, reg.workspace, n) for n in names}
        by_id = registry.stage_summary(conn, [r.id for r in rows.values() if r is not None])
        return {n: dict(by_id.get(r.id, {})) for n, r in rows.items() if r is not None}


def effective_policy(reg: Registry, name: str) -> Policy:
    reg.require("viewer", name)
    with reg.store.read() as conn:
        return reg.policy_of(require_model(conn, reg.workspace, name).policy)


def set_policy(
    reg: Registry, name: str, policy: Mapping[str, Any] | None, reason: str = ""
) -> Policy:
    """Set a model's policy (None: back to the registry default). Admins only."""
    reg.require("admin", name)
    from mlpipex.domain.policy import parse_policy

    parsed = parse_policy(policy) if policy else None
    stored = parsed.model_dump(mode="json") if parsed else None
    now = reg.clock()
    with reg.store.write() as conn:
        row = require_model(conn, reg.workspace, name, lock=True)
        registry.set_policy(conn, row.id, stored, now)
        reg.record(
            conn,
            time=now,
            kind=ev.POLICY_SET,
            model=name,
            reason=reason,
            payload={"policy": stored},
        )
    return parsed or reg.policy_of(None)


def update_model(
    reg: Registry, name: str, *, description: str | None = None, new_name: str | None = None
) -> RegisteredModel:
    reg.require("editor", name)
    now = reg.clock()
    values: dict[str, Any] = {}
    if description is not None:
        values["description"] = description
    if new_name is not None and new_name != name:
        values["name"] = check_model_name(new_name)
    with reg.store.write() as conn:
        row = require_model(conn, reg.workspace, name, lock=True)
        if "name" in values and registry.model_row(conn, reg.workspace, values["name"]) is not None:
            raise ModelExists(values["name"])
        if values:
            registry.update_model(
                conn, row.id, now, name=values.get("name"), description=values.get("description")
            )
            reg.record(
                conn,
                time=now,
                kind=ev.MODEL_UPDATED,
                model=values.get("name", name),
                payload={**values, "previous_name": name},
            )
        return registry.to_model(conn, require_model(conn, reg.workspace, values.get("name", name)))


def set_model_tag(reg: Registry, name: str, key: str, value: str) -> None:
    check_tag(key, value)
    reg.require("editor", name)
    now = reg.clock()
    with reg.store.write() as conn:
        row = require_model(conn, reg.workspace, name)
        registry.set_model_tag(conn, row.id, key, value)
        registry.update_model(conn, row.id, now)
        reg.record(
            conn,
            time=now,
            kind=ev.TAG_SET,
            model=name,
            payload={"key": key, "value": value},
        )


def delete_model_tag(reg: Registry, name: str, key: str) -> None:
    reg.require("editor", name)
    now = reg.clock()
    with reg.store.write() as conn:
        row = require_model(conn, reg.workspace, name)
        if not registry.delete_model_tag(conn, row.id, key):
            raise NotFound(f"model {name!r} has no tag {key!r}")
        reg.record(
            conn,
            time=now,
            kind=ev.TAG_DELETED,
            model=name,
            payload={"key": key},
        )
