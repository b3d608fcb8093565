"""Request dependencies: the server's shared state and the per-request Registry with its actor."""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from mlpipex.domain.policy import Policy
from mlpipex.domain.workspaces import (
    DEFAULT_WORKSPACE,
    WorkspaceMissing,
    check_workspace_name,
)
from mlpipex.errors import FeatureDisabled, Forbidden, MLPipeXError, NotFound
from mlpipex.objects import ObjectStore
from mlpipex.server.paths import is_ui
from mlpipex.server.settings import ServerSettings
from mlpipex.service.access import workspaces
from mlpipex.service.access.secrets import SecretBox
from mlpipex.service.context import Actor, Principal, Registry
from mlpipex.store import Store


@dataclass
class ServerState:
    settings: ServerSettings
    store: Store
    objects: ObjectStore
    policy: Policy
    secrets: SecretBox
    known_workspaces: dict[str, float] = field(default_factory=dict)  # name -> until (monotonic)

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

    def registry(self, actor: Actor, workspace: str = DEFAULT_WORKSPACE) -> Registry:
        return Registry(
            store=self.store,
            objects=self.objects,
            actor=actor,
            default_policy=self.policy,
            secrets=self.secrets,
            allow_private_webhooks=self.settings.allow_private_webhooks,
            workspace=workspace,
        )

    def workspace_exists(self, name: str) -> bool:
        """Whether the workspace exists, remembered a few seconds (one read per request would
        double the cost of the cheapest calls); a deleted one is forgotten at once here and
        within those seconds on other replicas."""
        now = time.monotonic()
        if self.known_workspaces.get(name, 0.0) > now:
            return True
        found = workspaces.exists(self.store, name)
        if found:
            self.known_workspaces[name] = now + _KNOWN_SECONDS
        return found

    def forget_workspace(self, name: str) -> None:
        self.known_workspaces.pop(name, None)


def _absolute(place: str) -> bool:
    return os.path.isabs(place) or "://" in place


def state(request: Request) -> ServerState:
    s: ServerState = request.app.state.mlpipex
    return s


# The header MLflow's client sends (``mlflow.set_workspace``); the native API reads it too.
WORKSPACE_HEADER = "x-mlflow-workspace"
# The UI's workspace switcher remembers the choice in this cookie.
WORKSPACE_COOKIE = "mlpipex_workspace"
_KNOWN_SECONDS = 5.0


_NOTHING: dict[str, Any] = {}


def principal_of(request: Request) -> Principal | None:
    """Who the auth middleware found (None without --auth, or on a public path). Read from the
    scope's state as ``request.state`` would, without the exception its miss raises."""
    found: Principal | None = request.scope.get("state", _NOTHING).get("principal")
    return found


def workspace(request: Request) -> str:
    """The workspace a request acts in: the header's, else (in the UI) the switcher's cookie,
    else the one the token is limited to, else ``default``. A workspace the caller may not
    enter is reported missing, as a model is. Resolved once per request (the caller, the
    registry and a page each ask)."""
    kept = request.scope.setdefault("state", {})
    found: str | None = kept.get("workspace")
    if found is None:
        found = kept["workspace"] = _resolve_workspace(request)
    return found


def _resolve_workspace(request: Request) -> str:
    principal = principal_of(request)
    only = principal.only_workspace if principal is not None else None
    asked = (request.headers.get(WORKSPACE_HEADER) or "").strip()
    if not asked and is_ui(request.scope["path"]):
        chosen = (request.cookies.get(WORKSPACE_COOKIE) or "").strip()
        if chosen:
            # a choice gone stale (deleted, role removed) falls back rather than lock the UI
            with contextlib.suppress(MLPipeXError):
                return entered(request, chosen)
    if not asked and only is None:
        return DEFAULT_WORKSPACE
    return entered(request, asked or only or DEFAULT_WORKSPACE)


def entered(request: Request, name: str) -> str:
    """name, when the caller may act in that workspace; else why not."""
    st = state(request)
    principal = principal_of(request)
    only = principal.only_workspace if principal is not None else None
    if not st.settings.enable_workspaces:
        if name == DEFAULT_WORKSPACE:
            return name
        raise FeatureDisabled(
            "workspaces are not enabled on this server",
            hint="start it with `mlpipex server --enable-workspaces`, or send no workspace",
        )
    check_workspace_name(name)
    if only is not None and name != only:
        raise Forbidden(f"this token acts only in workspace {only!r}")
    if not st.workspace_exists(name) or (principal is not None and not principal.member_of(name)):
        raise NotFound(f"workspace {name!r} does not exist", hint="see `mlpipex workspace list`")
    return name


def workspaces_enabled(request: Request) -> None:
    """Refuse workspace management on a server started without --enable-workspaces."""
    if not state(request).settings.enable_workspaces:
        raise FeatureDisabled(
            "Workspace APIs are not available: workspaces are not enabled on this server",
            hint="start it with `mlpipex server --enable-workspaces`",
        )


def visible_workspaces(request: Request) -> frozenset[str] | None:
    """The workspaces the caller may know of (None: every one). Nobody signed in on a server
    with --auth (the sign-in page) knows of none."""
    principal = principal_of(request)
    if principal is None:
        return frozenset() if state(request).settings.auth else None
    if principal.only_workspace is not None:
        return frozenset({principal.only_workspace})
    if principal.roles:
        return None
    return frozenset(principal.workspace_roles) | frozenset(principal.grants)


def actor(request: Request) -> Actor:
    """Who calls, with the roles held in the request's workspace: authenticated by the auth
    middleware when --auth is on, else the name the client sends (events still say who acted)
    with full rights, as the embedded registry."""
    principal = principal_of(request)
    if principal is not None:
        return principal.actor_in(workspace(request))
    name = request.headers.get("x-mlpipex-user") or "anonymous"
    return Actor(name[:256])


# The dependencies below are async though they never wait: FastAPI runs a sync dependency on
# its thread pool, one hop each (about 0.1 ms of CPU a request apiece); the handler's own hop
# is the only one a request needs. (Naming a workspace other than default reads the database
# at most once in a few seconds per name: ServerState.workspace_exists.)
async def _state(request: Request) -> ServerState:
    return state(request)


async def _actor(request: Request) -> Actor:
    return actor(request)


async def registry(request: Request) -> Registry:
    return state(request).registry(actor(request), workspace(request))


async def named_registry(request: Request, name: str) -> Registry:
    """For the routes about one workspace (/workspaces/{name}...): the caller acts in that
    workspace, with the roles held there, whichever the header names; one that is none of the
    caller's business reads as missing."""
    principal = principal_of(request)
    if principal is None:
        return state(request).registry(actor(request), name)
    if not principal.member_of(name):
        raise WorkspaceMissing(name)
    return state(request).registry(principal.actor_in(name), name)


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
        path = getattr(request.scope.get("route"), "path", None) or request.scope["path"]
        read = request.method in _SAFE_METHODS or path.endswith(reads_by_post)
        reg.require("viewer" if read else "editor")

    return Depends(check)


StateDep = Annotated[ServerState, Depends(_state)]
ActorDep = Annotated[Actor, Depends(_actor)]
RegistryDep = Annotated[Registry, Depends(registry)]
NamedRegistryDep = Annotated[Registry, Depends(named_registry)]
