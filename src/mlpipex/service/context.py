"""What every operation runs against: the store, the objects, who acts, and the default policy."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from mlpipex.domain.models import Event
from mlpipex.domain.roles import ROLES
from mlpipex.errors import Forbidden, NotFound
from mlpipex.objects import ObjectStore
from mlpipex.service.access.secrets import SecretBox
from mlpipex.store import Store
from mlpipex.store.events import log as events

if TYPE_CHECKING:
    from mlpipex.domain.policy import Policy

__all__ = ["ANONYMOUS", "ROLES", "Actor", "Registry", "now_ms"]

# the caller of a server without --auth that names nobody
ANONYMOUS = "anonymous"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Actor:
    """Who acts, with roles globally and per model. Embedded use acts as admin of its own files."""

    name: str
    roles: frozenset[str] = frozenset({"admin"})
    model_roles: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def rank(self, model: str | None) -> int:
        granted = set(self.roles) | (set(self.model_roles.get(model, ())) if model else set())
        return max((ROLES.index(r) for r in granted if r in ROLES), default=-1)

    def can(self, role: str, model: str | None = None) -> bool:
        return self.rank(model) >= ROLES.index(role)


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

    def require(self, role: str, model: str | None = None) -> None:
        """Raise unless the actor has role (globally or on model). Someone who may not even
        read a model is told it does not exist, so existence leaks to nobody."""
        if self.actor.can(role, model):
            return
        if model is not None and not self.actor.can("viewer", model):
            raise NotFound(f"model {model!r} does not exist")
        where = f" on model {model!r}" if model else ""
        raise Forbidden(f"{self.actor.name} lacks the {role} role{where}")

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
