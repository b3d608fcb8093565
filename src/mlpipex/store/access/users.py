"""Queries over users, their roles per workspace and per model, and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.store import schema as t

_FAILURES = t.login_failures


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    name: str
    password_hash: str | None  # None: signs in with tokens only
    roles: tuple[str, ...]
    disabled: bool
    created_at: int


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    user_id: int
    user: str  # the owner's name
    name: str
    secret_hash: str
    created_at: int
    expires_at: int | None
    revoked_at: int | None
    workspace: str | None  # the one workspace it acts in; None: any the user may enter


def _user(r: sa.Row[Any] | None) -> UserRecord | None:
    if r is None:
        return None
    return UserRecord(r.id, r.name, r.password_hash, tuple(r.roles), bool(r.disabled), r.created_at)


def _token(r: sa.Row[Any]) -> TokenRecord:
    return TokenRecord(
        r.id,
        r.user_id,
        r.user,
        r.name,
        r.secret_hash,
        r.created_at,
        r.expires_at,
        r.revoked_at,
        r.workspace,
    )


def user_row(conn: Connection, name: str) -> UserRecord | None:
    return _user(conn.execute(sa.select(t.users).where(t.users.c.name == name)).first())


def user_by_id(conn: Connection, user_id: int) -> UserRecord | None:
    return _user(conn.execute(sa.select(t.users).where(t.users.c.id == user_id)).first())


def insert_user(
    conn: Connection, name: str, password_hash: str | None, roles: list[str], now: int
) -> int:
    return int(
        conn.execute(
            sa.insert(t.users)
            .values(
                name=name,
                password_hash=password_hash,
                roles=roles,
                disabled=False,
                created_at=now,
            )
            .returning(t.users.c.id)
        ).scalar_one()
    )


def update_user(
    conn: Connection,
    user_id: int,
    *,
    roles: list[str] | None = None,
    password_hash: str | None = None,
    disabled: bool | None = None,
) -> None:
    """Change what is given (None: unchanged)."""
    given = {"roles": roles, "password_hash": password_hash, "disabled": disabled}
    values = {k: v for k, v in given.items() if v is not None}
    if values:
        conn.execute(sa.update(t.users).where(t.users.c.id == user_id).values(**values))


def list_users(conn: Connection) -> list[UserRecord]:
    rows = conn.execute(sa.select(t.users).order_by(t.users.c.name))
    return [u for u in map(_user, rows) if u is not None]


def grants_of(conn: Connection, user_id: int) -> dict[str, dict[str, str]]:
    """workspace -> model -> the role granted on it."""
    g = t.model_grants.c
    out: dict[str, dict[str, str]] = {}
    for ws, model, role in conn.execute(
        sa.select(g.workspace, g.model, g.role).where(g.user_id == user_id)
    ):
        out.setdefault(ws, {})[model] = role
    return out


def set_grant(conn: Connection, user_id: int, ws: str, model: str, role: str | None) -> None:
    g = t.model_grants.c
    conn.execute(
        sa.delete(t.model_grants).where(g.user_id == user_id, g.workspace == ws, g.model == model)
    )
    if role is not None:
        conn.execute(
            sa.insert(t.model_grants).values(user_id=user_id, workspace=ws, model=model, role=role)
        )


def workspace_roles_of(conn: Connection, user_id: int) -> dict[str, str]:
    """workspace -> the user's role there."""
    w = t.workspace_roles.c
    return dict(conn.execute(sa.select(w.workspace, w.role).where(w.user_id == user_id)).all())


def set_workspace_role(conn: Connection, user_id: int, ws: str, role: str | None) -> None:
    w = t.workspace_roles.c
    conn.execute(sa.delete(t.workspace_roles).where(w.user_id == user_id, w.workspace == ws))
    if role is not None:
        conn.execute(sa.insert(t.workspace_roles).values(user_id=user_id, workspace=ws, role=role))


def members(conn: Connection, ws: str) -> list[tuple[str, str]]:
    """(user, role) of everyone with a role in the workspace, by name."""
    w = t.workspace_roles.c
    q = (
        sa.select(t.users.c.name, w.role)
        .join(t.users, t.users.c.id == w.user_id)
        .where(w.workspace == ws)
        .order_by(t.users.c.name)
    )
    return [(n, r) for n, r in conn.execute(q)]


def insert_token(
    conn: Connection,
    token_id: str,
    user_id: int,
    name: str,
    secret_hash: str,
    now: int,
    expires_at: int | None,
    workspace: str | None = None,
) -> None:
    conn.execute(
        sa.insert(t.tokens).values(
            id=token_id,
            workspace=workspace,
            user_id=user_id,
            name=name,
            secret_hash=secret_hash,
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
        )
    )


_TOKENS = sa.select(t.tokens, t.users.c.name.label("user")).join(t.users)


def token_row(conn: Connection, token_id: str) -> TokenRecord | None:
    r = conn.execute(_TOKENS.where(t.tokens.c.id == token_id)).first()
    return None if r is None else _token(r)


def revoke_token(conn: Connection, token_id: str, now: int) -> bool:
    res = conn.execute(
        sa.update(t.tokens)
        .where(t.tokens.c.id == token_id, t.tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(res.rowcount)


def list_tokens(conn: Connection, user_id: int | None = None) -> list[TokenRecord]:
    q = _TOKENS.order_by(t.tokens.c.created_at)
    if user_id is not None:
        q = q.where(t.tokens.c.user_id == user_id)
    return [_token(r) for r in conn.execute(q)]


# -- failed sign-ins ---------------------------------------------------------------------------


def locked_until(conn: Connection, keys: list[tuple[str, str]]) -> int:
    """The latest lock among (scope, key) pairs, 0 when none is locked."""
    cond = sa.or_(*[(_FAILURES.c.scope == s) & (_FAILURES.c.key == k) for s, k in keys])
    found = conn.execute(sa.select(sa.func.max(_FAILURES.c.locked_until)).where(cond)).scalar()
    return int(found or 0)


def count_failure(conn: Connection, scope: str, key: str, now: int, window_start: int) -> int:
    """One more failure for (scope, key), counting afresh after a quiet window; the count. One
    statement, so concurrent failures on several servers each count (the row stays locked)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    dialect = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    q = dialect(_FAILURES).values(
        scope=scope, key=key, failures=1, last_failure=now, locked_until=0
    )
    upsert = q.on_conflict_do_update(
        index_elements=[_FAILURES.c.scope, _FAILURES.c.key],
        set_={
            "failures": sa.case(
                (_FAILURES.c.last_failure < window_start, 1), else_=_FAILURES.c.failures + 1
            ),
            "last_failure": now,
        },
    ).returning(_FAILURES.c.failures)
    return int(conn.execute(upsert).scalar_one())


def lock(conn: Connection, scope: str, key: str, until: int) -> None:
    conn.execute(
        sa.update(_FAILURES)
        .where((_FAILURES.c.scope == scope) & (_FAILURES.c.key == key))
        .values(locked_until=until)
    )


def clear_failures(conn: Connection, scope: str, key: str) -> None:
    conn.execute(
        sa.delete(_FAILURES).where((_FAILURES.c.scope == scope) & (_FAILURES.c.key == key))
    )


def forget_failures(conn: Connection, before: int) -> None:
    """Drop rows quiet since before and no longer locked, so guessed names do not pile up."""
    conn.execute(
        sa.delete(_FAILURES).where(
            (_FAILURES.c.last_failure < before) & (_FAILURES.c.locked_until < before)
        )
    )
