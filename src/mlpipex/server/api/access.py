"""/api/v1/users and /api/v1/tokens: accounts, roles and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Response

from mlpipex.domain.api import GrantBody, TokenCreate, TokenCreated, UserCreate, UserUpdate
from mlpipex.server.deps import RegistryDep
from mlpipex.service.access import users as access

router = APIRouter(prefix="/api/v1", tags=["access"])


@router.get("/users")
def list_users(reg: RegistryDep) -> list[access.User]:
    return access.list_users(reg)


@router.post("/users", status_code=201)
def create_user(reg: RegistryDep, body: UserCreate) -> access.User:
    return access.create_user(reg, body.name, body.roles, body.password)


@router.patch("/users/{name}")
def update_user(reg: RegistryDep, name: str, body: UserUpdate) -> access.User:
    return access.update_user(
        reg, name, roles=body.roles, password=body.password, disabled=body.disabled
    )


@router.put("/users/{name}/grants/{model}")
def grant(reg: RegistryDep, name: str, model: str, body: GrantBody) -> access.User:
    return access.grant(reg, name, model, body.role)


@router.get("/tokens")
def list_tokens(reg: RegistryDep, user: str | None = None) -> list[access.Token]:
    return access.list_tokens(reg, user or reg.actor.name)


@router.post("/tokens", status_code=201)
def create_token(reg: RegistryDep, body: TokenCreate) -> TokenCreated:
    ttl = body.expires_in_s * 1000 if body.expires_in_s is not None else None
    token, clear = access.create_token(
        reg, body.user or reg.actor.name, body.name, ttl, body.workspace
    )
    return TokenCreated(token=clear, id=token.id, user=token.user)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(reg: RegistryDep, token_id: str) -> Response:
    access.revoke_token(reg, token_id)
    return Response(status_code=204)
