"""Workspaces: creating them, who may enter one, their quotas.

A workspace is created, described and limited by an administrator of every workspace (the
organisation); its own admins give roles in it. Someone with no role in a workspace is told it
does not exist, as for models. Every workspace keeps its own audit chain, whose first event is
its creation.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from sqlalchemy.engine import Connection

from mlpipex.domain import events as ev
from mlpipex.domain.roles import check_roles
from mlpipex.domain.workspaces import (
    DEFAULT_WORKSPACE,
    Quota,
    Quotas,
    Usage,
    Workspace,
    WorkspaceMissing,
    check_workspace_name,
)
from mlpipex.errors import AlreadyExists, Conflict, Forbidden, Invalid, QuotaExceeded
from mlpipex.service.access import users
from mlpipex.service.context import Registry
from mlpipex.store import Store
from mlpipex.store.access import users as access
from mlpipex.store.access import workspaces as store

MAX_DESCRIPTION = 5000


def _visible(reg: Registry, name: str) -> None:
    """NotFound unless the actor may know of the workspace."""
    if reg.actor.everywhere or reg.actor.name in _member_names(reg, name):
        return
    raise WorkspaceMissing(name)


def _check_description(text: str) -> None:
    if len(text) > MAX_DESCRIPTION:
        raise Invalid(f"a workspace description holds at most {MAX_DESCRIPTION} characters")


def _require_admin_of(reg: Registry, name: str) -> None:
    """Admin of the workspace named: the actor's roles are those of the workspace the request
    acts in, so they count for that one only; any other needs admin everywhere."""
    if name == reg.workspace:
        reg.require("admin")
        return
    try:
        reg.require_everywhere("admin")
    except Forbidden as exc:
        raise Forbidden(
            f"{reg.actor.name} is not an admin of workspace {name!r} here",
            hint=f"act in it: --workspace {name} (the X-MLFLOW-WORKSPACE header)",
        ) from exc


def _member_names(reg: Registry, name: str) -> set[str]:
    with reg.store.read() as conn:
        return {user for user, _ in access.members(conn, name)}


def exists(db: Store, name: str) -> bool:
    with db.read() as conn:
        return store.get(conn, name) is not None


def _require(conn: Connection, name: str) -> Workspace:
    found = store.get(conn, name)
    if found is None:
        raise WorkspaceMissing(name)
    return found


def create(
    reg: Registry, name: str, description: str = "", artifact_root: str | None = None
) -> Workspace:
    reg.require_everywhere("admin")
    check_workspace_name(name)
    _check_description(description)
    now = reg.clock()
    with reg.store.write() as conn:
        if store.get(conn, name) is not None:
            raise AlreadyExists(f"workspace {name!r} already exists")
        store.insert(conn, name, description, artifact_root, now)
        # the first event of the new workspace's own chain
        replace(reg, workspace=name).record(
            conn, time=now, kind=ev.WORKSPACE_CREATED, payload={"workspace": name}
        )
        return _require(conn, name)


def get(reg: Registry, name: str) -> Workspace:
    _visible(reg, name)
    with reg.store.read() as conn:
        return _require(conn, name)


def list_workspaces(reg: Registry, only: frozenset[str] | None = None) -> list[Workspace]:
    """Every workspace, or those in only (the ones the caller may enter)."""
    with reg.store.read() as conn:
        return store.list_all(conn, only)


def update(
    reg: Registry,
    name: str,
    *,
    description: str | None = None,
    artifact_root: str | None = None,
) -> Workspace:
    _visible(reg, name)
    _require_admin_of(reg, name)
    if description is not None:
        _check_description(description)
    now = reg.clock()
    with reg.store.write() as conn:
        _require(conn, name)
        store.update(conn, name, description=description, artifact_root=artifact_root)
        replace(reg, workspace=name).record(
            conn,
            time=now,
            kind=ev.WORKSPACE_UPDATED,
            payload={"description": description, "default_artifact_root": artifact_root},
        )
        return _require(conn, name)


def delete(reg: Registry, name: str) -> None:
    """Remove an empty workspace (its chain with it); one that holds anything is refused."""
    reg.require_everywhere("admin")
    if name == DEFAULT_WORKSPACE:
        raise Invalid("the default workspace cannot be deleted")
    with reg.store.write() as conn:
        _require(conn, name)
        if held := store.holds(conn, name):
            raise Conflict(
                f"workspace {name!r} holds {', '.join(held)}",
                hint="delete or move them first",
            )
        store.delete(conn, name)


def set_quotas(reg: Registry, name: str, quotas: Quotas) -> Workspace:
    reg.require_everywhere("admin")
    for q in Quota:
        limit = quotas.limit(q)
        if limit is not None and limit < 0:
            raise Invalid(f"a {q.value} quota cannot be negative")
    now = reg.clock()
    with reg.store.write() as conn:
        _require(conn, name)
        store.set_quotas(conn, name, quotas)
        replace(reg, workspace=name).record(
            conn, time=now, kind=ev.QUOTA_SET, payload=quotas.to_json()
        )
        return _require(conn, name)


def usage(reg: Registry, name: str) -> Usage:
    _visible(reg, name)
    with reg.store.read() as conn:
        _require(conn, name)
        return store.usage(conn, name)


def set_role(reg: Registry, name: str, user: str, role: str | None) -> list[tuple[str, str]]:
    """Give user a role in the workspace (None removes it); the workspace's members after."""
    in_ws = replace(reg, workspace=name)
    _visible(reg, name)
    _require_admin_of(reg, name)
    if role is not None:
        check_roles([role])
    now = reg.clock()
    with reg.store.write() as conn:
        _require(conn, name)
        row = users.require_user(conn, user)
        access.set_workspace_role(conn, row.id, name, role)
        in_ws.record(
            conn, time=now, kind=ev.WORKSPACE_ROLE_SET, payload={"user": user, "role": role}
        )
        return access.members(conn, name)


def members(reg: Registry, name: str) -> list[tuple[str, str]]:
    _visible(reg, name)
    with reg.store.read() as conn:
        _require(conn, name)
        return access.members(conn, name)


def check_quota(conn: Connection, ws: str, quota: Quota, adding: int = 1) -> None:
    """Raise when adding this much would pass the workspace's quota (none set: nothing read
    beyond the workspace's row)."""
    check_quotas(conn, ws, {quota: adding})


def check_quotas(
    conn: Connection,
    ws: str,
    adding: Mapping[Quota, int],
    quotas: Quotas | None = None,
    *,
    written: Collection[Quota] = (),
) -> None:
    """Raise when adding these amounts would pass any of the workspace's quotas, the first such
    in the order given. The workspace's row is read once (``quotas``: its limits, read by the
    caller in this transaction), and with any of them limited locked once (writers to a limited
    workspace count one at a time); none limited: nothing more. ``written``: the quotas whose
    addition is already in the tables (so already counted)."""
    if quotas is None:
        found = store.get(conn, ws)
        if found is None:
            return
        quotas = found.quotas
    limited = [(q, n, limit) for q, n in adding.items() if (limit := quotas.limit(q)) is not None]
    if not limited:
        return
    store.get(conn, ws, lock=True)
    for quota, n, limit in limited:
        held = store.used(conn, ws, quota) - (n if quota in written else 0)
        if held + n > limit:
            shown = f"{limit:,} bytes" if quota is Quota.BYTES else f"{limit:,} {quota.value}"
            raise QuotaExceeded(
                f"workspace {ws!r} is limited to {shown} and holds {held:,}; this would add {n:,}",
                hint="delete what is no longer needed, or ask an administrator to raise the "
                f"quota (`mlpipex workspace quota {ws} --{quota.value} N`)",
            )
