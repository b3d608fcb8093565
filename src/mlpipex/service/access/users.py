"""Users, roles and API tokens; authenticating a request's credentials into an Actor.

Passwords are kept as scrypt hashes and tokens as sha256 of their secret: neither can be read
back. A token is shown once, when created: ``mpx_<id>_<secret>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from mlpipex.domain import events as ev
from mlpipex.domain.bounds import MAX_TOKEN_SECONDS, MIN_TOKEN_SECONDS
from mlpipex.domain.refs import check_label
from mlpipex.domain.roles import check_roles
from mlpipex.domain.workspaces import WorkspaceMissing
from mlpipex.errors import AlreadyExists, Invalid, NotFound, Unauthorized
from mlpipex.service.access import throttle
from mlpipex.service.context import Principal, Registry
from mlpipex.store.access import users as access
from mlpipex.store.access import workspaces
from mlpipex.store.access.users import UserRecord

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
TOKEN_PREFIX = "mpx_"
# Same parameters as a real hash, so checking against it costs what a real check costs.
_DECOY = f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${'00' * 16}${'00' * 32}"


@dataclass(frozen=True)
class User:
    name: str
    roles: list[str]
    grants: dict[str, str]
    disabled: bool
    created_at: int


@dataclass(frozen=True)
class Token:
    id: str
    user: str
    name: str
    created_at: int
    expires_at: int | None
    revoked_at: int | None
    workspace: str | None = None  # the one workspace it acts in


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), dklen=32, n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def _user(conn: Connection, ws: str, row: UserRecord) -> User:
    return User(
        row.name,
        list(row.roles),
        access.grants_of(conn, row.id).get(ws, {}),
        bool(row.disabled),
        row.created_at,
    )


def create_user(reg: Registry, name: str, roles: list[str], password: str | None = None) -> User:
    # Users and their roles span every workspace: an admin of one workspace must not mint one.
    reg.require_everywhere("admin")
    if ":" in check_label("user", name):
        raise Invalid(f"invalid user name {name!r}", hint="a user name has no colon (Basic auth)")
    if password is not None and len(password) < 8:
        raise Invalid("a password needs at least 8 characters")
    roles = check_roles(roles)
    now = reg.clock()
    with reg.store.write() as conn:
        if access.user_row(conn, name) is not None:
            raise AlreadyExists(f"user {name!r} already exists")
        access.insert_user(conn, name, hash_password(password) if password else None, roles, now)
        reg.record(
            conn,
            time=now,
            kind=ev.USER_CREATED,
            payload={"user": name, "roles": roles},
        )
        return _user(conn, reg.workspace, require_user(conn, name))


def require_user(conn: Connection, name: str) -> UserRecord:
    row = access.user_row(conn, name)
    if row is None:
        raise NotFound(f"user {name!r} does not exist", hint="see `mlpipex users list`")
    return row


def update_user(
    reg: Registry,
    name: str,
    *,
    roles: list[str] | None = None,
    password: str | None = None,
    disabled: bool | None = None,
) -> User:
    reg.require_everywhere("admin")
    values: dict[str, Any] = {}
    if roles is not None:
        values["roles"] = check_roles(roles)
    if password is not None:
        if len(password) < 8:
            raise Invalid("a password needs at least 8 characters")
        values["password_hash"] = hash_password(password)
    if disabled is not None:
        values["disabled"] = disabled
    now = reg.clock()
    with reg.store.write() as conn:
        row = require_user(conn, name)
        if not values:  # nothing to change: the user as it is, and no event
            return _user(conn, reg.workspace, row)
        access.update_user(
            conn,
            row.id,
            roles=values.get("roles"),
            password_hash=values.get("password_hash"),
            disabled=values.get("disabled"),
        )
        shown = {k: v for k, v in values.items() if k != "password_hash"}
        if "password_hash" in values:
            shown["password"] = "changed"
        reg.record(
            conn,
            time=now,
            kind=ev.USER_UPDATED,
            payload={"user": name, **shown},
        )
        return _user(conn, reg.workspace, require_user(conn, name))


def grant(reg: Registry, name: str, model: str, role: str | None) -> User:
    """Give name a role on one model of the registry's workspace (None removes it)."""
    reg.require("admin")
    if role is not None:
        check_roles([role])
    now = reg.clock()
    with reg.store.write() as conn:
        row = require_user(conn, name)
        access.set_grant(conn, row.id, reg.workspace, model, role)
        reg.record(
            conn,
            time=now,
            kind=ev.ROLE_GRANTED,
            model=model,
            payload={"user": name, "role": role},
        )
        return _user(conn, reg.workspace, row)


def list_users(reg: Registry) -> list[User]:
    reg.require_everywhere("admin")
    with reg.store.read() as conn:
        return [_user(conn, reg.workspace, r) for r in access.list_users(conn)]


def create_token(
    reg: Registry,
    user: str,
    name: str = "",
    ttl_ms: int | None = None,
    workspace: str | None = None,
) -> tuple[Token, str]:
    """A new token for user, expiring ttl_ms after its creation (never, with None), acting only
    in workspace when one is named; the clear value is returned here and never again. Users
    may create tokens for themselves; admins for anyone."""
    if user != reg.actor.name:  # a token acts wherever its user may: only an admin everywhere
        reg.require_everywhere("admin")
    if ttl_ms is not None and not MIN_TOKEN_SECONDS * 1000 <= ttl_ms <= MAX_TOKEN_SECONDS * 1000:
        raise Invalid(
            f"a token lives from {MIN_TOKEN_SECONDS} s to {MAX_TOKEN_SECONDS // 86400} days",
            hint="e.g. --expires 30d; leave it out for a token that never expires",
        )
    token_id = secrets.token_hex(8)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
    now = reg.clock()
    expires_at = now + ttl_ms if ttl_ms is not None else None
    with reg.store.write() as conn:
        row = require_user(conn, user)
        if workspace is not None and workspaces.get(conn, workspace) is None:
            raise WorkspaceMissing(workspace)
        access.insert_token(conn, token_id, row.id, name, _sha(secret), now, expires_at, workspace)
        reg.record(
            conn,
            time=now,
            kind=ev.TOKEN_CREATED,
            payload={"user": user, "token": token_id, "name": name, "workspace": workspace},
        )
    token = Token(token_id, user, name, now, expires_at, None, workspace)
    return token, f"{TOKEN_PREFIX}{token_id}_{secret}"


def revoke_token(reg: Registry, token_id: str) -> None:
    now = reg.clock()
    with reg.store.write() as conn:
        row = access.token_row(conn, token_id)
        if row is None:
            raise NotFound(f"token {token_id!r} does not exist")
        if row.user != reg.actor.name:
            reg.require_everywhere("admin")
        if not access.revoke_token(conn, token_id, now):
            raise NotFound(f"token {token_id!r} is already revoked")
        reg.record(
            conn,
            time=now,
            kind=ev.TOKEN_REVOKED,
            payload={"user": row.user, "token": token_id},
        )


def list_tokens(reg: Registry, user: str | None = None) -> list[Token]:
    if user != reg.actor.name:
        reg.require_everywhere("admin")
    with reg.store.read() as conn:
        uid = require_user(conn, user).id if user else None
        return [
            Token(r.id, r.user, r.name, r.created_at, r.expires_at, r.revoked_at, r.workspace)
            for r in access.list_tokens(conn, uid)
        ]


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _principal(conn: Connection, row: UserRecord, only: str | None = None) -> Principal:
    grants = access.grants_of(conn, row.id)
    return Principal(
        row.name,
        frozenset(row.roles),
        {w: frozenset({r}) for w, r in access.workspace_roles_of(conn, row.id).items()},
        {w: {m: frozenset({r}) for m, r in g.items()} for w, g in grants.items()},
        only,
    )


def authenticate_token(reg: Registry, token: str, now: int) -> Principal:
    """The actor of a token ``mpx_<id>_<secret>``; Unauthorized for any flaw, saying no more."""
    body = token.removeprefix(TOKEN_PREFIX)
    token_id, _, secret = body.partition("_")
    if not token.startswith(TOKEN_PREFIX) or not token_id or not secret:
        raise Unauthorized("invalid credentials")
    with reg.store.read() as conn:
        row = access.token_row(conn, token_id)
        if (
            row is None
            or row.revoked_at is not None
            or (row.expires_at is not None and row.expires_at <= now)
            or not hmac.compare_digest(row.secret_hash, _sha(secret))
        ):
            raise Unauthorized("invalid credentials")
        user = access.user_by_id(conn, row.user_id)
        if user is None or user.disabled:
            raise Unauthorized("invalid credentials")
        return _principal(conn, user, row.workspace)


def authenticate_password(
    reg: Registry, name: str, password: str, client: str | None = None
) -> Principal:
    """The actor of a user name and password (or token); Unauthorized when wrong, Throttled
    after too many failures for the name or the client address (see service/access/throttle.py).
    A token given as the password is not throttled: its 192 random bits cannot be guessed, and
    a lock on the name must not shut out the user's CI."""
    if password.startswith(TOKEN_PREFIX):
        found = authenticate_token(reg, password, reg.clock())
        if found.name != name:
            raise Unauthorized("invalid credentials")
        return found
    throttle.check(reg, name, client)
    try:
        found = _verify(reg, name, password)
    except Unauthorized:
        throttle.failed(reg, name, client)
        raise
    throttle.succeeded(reg, name)
    return found


def _verify(reg: Registry, name: str, password: str) -> Principal:
    with reg.store.read() as conn:
        user = access.user_row(conn, name)
    # The scrypt work is done for unknown and disabled users too, against a decoy hash, so the
    # answer takes as long whoever is named (no user enumeration by timing).
    stored = user.password_hash if user is not None and user.password_hash else _DECOY
    right = check_password(password, stored)
    if user is None or user.disabled or not user.password_hash or not right:
        raise Unauthorized("invalid credentials")
    with reg.store.read() as conn:
        return _principal(conn, user)
