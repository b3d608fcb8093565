"""Request dependencies: the server's shared state and the per-request Registry with its actor."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from mlpipex.domain.policy import Policy
from mlpipex.objects import ObjectStore
from mlpipex.server.settings import ServerSettings
from mlpipex.service.access.secrets import SecretBox
from mlpipex.service.context import Actor, Registry
from mlpipex.store import Store


@dataclass
class ServerState:
    settings: ServerSettings
    store: Store
    objects: ObjectStore
    policy: Policy
    secrets: SecretBox

    def own_places(self) -> list[tuple[str, str]]:
        """The server's own locations (longest first) and the words a caller sees instead: a
        request's answer never names the host's folders or the database URL. Only absolute
        paths and URLs: a relative name such as ``data`` is also an ordinary word."""
        db_path = (
            self.store.url.removeprefix("sqlite:///") if self.store.dialect == "sqlite" else ""
        )
        db_path = os.path.abspath(db_path) if db_path else ""
        places = {
            self.objects.url: "the object store",
            self.objects.url.removeprefix("file://"): "the object store",
            self.objects.root: "the object store",
            self.store.url: "the database",
            db_path: "the database",
            os.path.dirname(db_path): "the registry folder",
        }
        found = [(k, v) for k, v in places.items() if len(k) > 1 and _absolute(k)]
        return sorted(found, key=lambda kv: -len(kv[0]))

    def scrub(self, text: str) -> str:
        """text with each of the server's own places, as a whole path (not inside a longer
        name or path), replaced by what it is."""
        for place, shown in self.own_places():
            text = re.sub(rf"(?<![\w.~/-]){re.escape(place)}(?![\w~-]|\.\w)", shown, text)
        return text

    def registry(self, actor: Actor) -> Registry:
        return Registry(
            store=self.store,
            objects=self.objects,
            actor=actor,
            default_policy=self.policy,
            secrets=self.secrets,
            allow_private_webhooks=self.settings.allow_private_webhooks,
        )


def _absolute(place: str) -> bool:
    return os.path.isabs(place) or "://" in place


def state(request: Request) -> ServerState:
    s: ServerState = request.app.state.mlpipex
    return s


def actor(request: Request) -> Actor:
    """Who calls: authenticated by the auth middleware when --auth is on, else the name the
    client sends (events still say who acted) with full rights, as the embedded registry."""
    found: Actor | None = getattr(request.state, "actor", None)
    if found is not None:
        return found
    name = request.headers.get("x-mlpipex-user") or "anonymous"
    return Actor(name[:256])


# The dependencies below are async though they never wait: FastAPI runs a sync dependency on
# its thread pool, one hop each (about 0.1 ms of CPU a request apiece); the handler's own hop
# is the only one a request needs.
async def _state(request: Request) -> ServerState:
    return state(request)


async def _actor(request: Request) -> Actor:
    return actor(request)


async def registry(request: Request) -> Registry:
    return state(request).registry(actor(request))


async def model_read_check(request: Request, reg: Annotated[Registry, Depends(registry)]) -> None:
    """Shared by every route under /api/v1/models/{name}: who may not read the model is told it
    does not exist before the handler runs, so no route can forget the check."""
    name = request.path_params.get("name")
    if name is not None:
        reg.require("viewer", name)


ModelRead = Depends(model_read_check)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def global_role(*reads_by_post: str) -> Any:
    """For routes with no per-model grants (traces, experiment-wide reads): viewer to read,
    editor to write, checked before the body is parsed so a refusal tells nothing of the
    request's shape. ``reads_by_post``: path endings of searches sent as POST."""

    async def check(request: Request, reg: Annotated[Registry, Depends(registry)]) -> None:
        path = getattr(request.scope.get("route"), "path", request.url.path)
        read = request.method in _SAFE_METHODS or path.endswith(reads_by_post)
        reg.require("viewer" if read else "editor")

    return Depends(check)


StateDep = Annotated[ServerState, Depends(_state)]
ActorDep = Annotated[Actor, Depends(_actor)]
RegistryDep = Annotated[Registry, Depends(registry)]
