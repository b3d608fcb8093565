"""What every operation runs against: the store, the objects, who acts, and the default policy."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from mlpipex.domain.models import Event
from mlpipex.domain.roles import ROLES
from mlpipex.domain.workspaces import DEFAULT_WORKSPACE
from mlpipex.errors import Forbidden, NotFound
from mlpipex.objects import ObjectStore
from mlpipex.service.access.secrets import SecretBox
from mlpipex.store import Store
from mlpipex.store.events import log as events

if TYPE_CHECKING:
    from mlpipex.domain.policy import Policy

__all__ = ["ANONYMOUS", "ROLES", "Actor", "Principal", "Registry", "now_ms"]

# the caller of a server without --auth that names nobody
ANONYMOUS = "anonymous"


def now_ms() -> int:
    return int(time.time() * 1000)


def _rank(roles: frozenset[str] | set[str]) -> int:
    return max((ROLES.index(r) for r in roles if r in ROLES), default=-1)


@dataclass(frozen=True)
class Actor:
    """Who acts in one workspace, with the roles held there (everywhere, or in that workspace)
    and per model. Embedded use acts as admin of its own files."""

    name: str
    roles: frozenset[str] = frozenset({"admin"})
    model_roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # the roles held in every workspace: creating workspaces and setting quotas needs admin here
    everywhere: frozenset[str] = frozenset({"admin"})

    def rank(self, model: str | None) -> int:
        return _rank(self.roles | (self.model_roles.get(model, frozenset()) if model else set()))

    def can(self, role: str, model: str | None = None) -> bool:
        return self.rank(model) >= ROLES.index(role)


@dataclass(frozen=True)
class Principal:
    """Who a request's credentials name, with every role they hold: everywhere, per workspace
    and per model; ``only_workspace`` when the token is limited to one workspace."""

    name: str
    roles: frozenset[str]
    workspace_roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    grants: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)
    only_workspace: str | None = None

    def member_of(self, ws: str) -> bool:
        """Whether the workspace is any of this principal's business (else it is not shown)."""
        if self.only_workspace is not None and ws != self.only_workspace:
            return False
        return bool(self.roles) or ws in self.workspace_roles or ws in self.grants

    def actor_in(self, ws: str) -> Actor:
        return Actor(
            self.name,
            self.roles | self.workspace_roles.get(ws, frozenset()),
            self.grants.get(ws, {}),
            # a token limited to one workspace never acts for the whole organisation
            everywhere=self.roles if self.only_workspace is None else frozenset(),
        )


@dataclass
class Registry:
    store: Store
    objects: ObjectStore
    actor: Actor
    # None: the strict preset, built when a policy is first asked for (so a read that needs no
    # policy imports no pydantic)
    default_policy: Policy | None = None
    clock: Callable[[], int] = now_ms
    secrets: SecretBox = field(default_factory=SecretBox)
    allow_private_webhooks: bool = False
    # The workspace every operation reads and writes in: names are looked up there, rows are
    # created there, events join its chain.
    workspace: str = DEFAULT_WORKSPACE

    def require(self, role: str, model: str | None = None) -> None:
        """Raise unless the actor has role (globally or on model). Someone who may not even
        read a model is told it does not exist, so existence leaks to nobody."""
        if self.actor.can(role, model):
            return
        if model is not None and not self.actor.can("viewer", model):
            raise NotFound(f"model {model!r} does not exist")
        where = f" on model {model!r}" if model else ""
        raise Forbidden(f"{self.actor.name} lacks the {role} role{where}")

    def require_everywhere(self, role: str) -> None:
        """Raise unless the actor holds role in every workspace (organisation-wide)."""
        if _rank(self.actor.everywhere) < ROLES.index(role):
            raise Forbidden(f"{self.actor.name} lacks the {role} role in every workspace")

    def visible_models(self) -> frozenset[str] | None:
        """None when the actor may read every model, else the models it has a role on."""
        return None if self.actor.can("viewer") else frozenset(self.actor.model_roles)

    def record(
        self,
        conn: Connection,
        *,
        time: int,
        kind: str,
        model: str | None = None,
        version: int | None = None,
        reason: str = "",
        payload: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> Event:
        """Append an event to the audit chain, by this registry's actor unless another is named
        (the rollout controller acts in its own name)."""
        return events.append(
            conn,
            self.workspace,
            time=time,
            actor=self.actor.name if actor is None else actor,
            kind=kind,
            model=model,
            version=version,
            reason=reason,
            payload=payload,
        )

    def policy_of(self, stored: Mapping[str, Any] | None) -> Policy:
        """A model's stored policy, else the registry's default (the strict preset unless given)."""
        from mlpipex.domain.policy import STRICT, parse_policy

        if stored:
            return parse_policy(stored)
        return STRICT if self.default_policy is None else self.default_policy

    def close(self) -> None:
        self.store.close()
