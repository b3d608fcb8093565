"""Authentication for ``--auth``: ``Authorization: Bearer <token>`` or HTTP Basic (user and
password, or user and token as password, so MLFLOW_TRACKING_TOKEN and
MLFLOW_TRACKING_USERNAME/PASSWORD both work). The actor found is put on the request; roles are
checked by the service layer. Verified credentials are cached briefly: scrypt is slow on purpose,
and a revoked token stops working within ``CACHE_SECONDS``."""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from collections import OrderedDict

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from mlpipex.errors import Unauthorized
from mlpipex.server.deps import ServerState
from mlpipex.server.errors import respond
from mlpipex.server.threads import run_blocking
from mlpipex.service.access import users as access
from mlpipex.service.context import Actor, Principal

CACHE_SECONDS = 5.0
PUBLIC = (
    "/health",
    "/api/v1/version",
    "/version",
    "/docs",
    "/openapi.json",
    "/ui/login",
    "/static/",
    "/favicon.ico",
)


# The UI's session cookie is honoured for reads anywhere and for writes only under /ui/, whose
# every form checks a CSRF token. The API's writes need an Authorization header, which a browser
# never adds on another site's behalf, so no cross-site request can write with the cookie alone.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
COOKIE_WRITES_UNDER = "/ui/"


def cookie_accepted(method: str, path: str) -> bool:
    return method in SAFE_METHODS or path.startswith(COOKIE_WRITES_UNDER)


class _Cache:
    def __init__(self, size: int = 4096) -> None:
        self._items: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: str) -> Principal | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] < time.monotonic():
                return None
            return hit[1]

    def put(self, key: str, principal: Principal) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + CACHE_SECONDS, principal)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def _cache_key(header: str) -> str:
    return hashlib.sha256(header.encode()).hexdigest()


def credentials_principal(
    st: ServerState, header: str, cache: _Cache, client: str | None = None
) -> Principal:
    """Who an Authorization header value names, verified (slow on purpose: a worker thread's
    work) and cached; Unauthorized when missing or wrong."""
    reg = st.registry(Actor("anonymous", frozenset()))
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        found = access.authenticate_token(reg, value.strip(), reg.clock())
    elif scheme.lower() == "basic" and value:
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("invalid credentials") from None
        found = access.authenticate_password(reg, user, password, client)
    else:
        raise Unauthorized("credentials required: a Bearer token or Basic user and password")
    cache.put(_cache_key(header), found)
    return found


class AuthMiddleware:
    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app, self.state, self.cache = app, state, _Cache()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PUBLIC):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        header = request.headers.get("authorization") or ""
        if not header and cookie_accepted(scope["method"], scope["path"]):
            cookie = request.cookies.get("mlpipex_token")
            header = f"Bearer {cookie}" if cookie else ""
        try:
            if not header:
                raise Unauthorized(
                    "credentials required: a Bearer token or Basic user and password"
                )
            # credentials seen in the last few seconds are known without a thread's hop
            principal = self.cache.get(_cache_key(header))
            if principal is None:
                client = request.client.host if request.client else None
                principal = await run_blocking(
                    credentials_principal, self.state, header, self.cache, client
                )
        except Unauthorized as exc:
            response = respond(request, exc)
            if response.status_code == 401:  # not on the UI's redirect to its sign-in page
                response.headers["WWW-Authenticate"] = 'Basic realm="mlpipex", Bearer'
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    st: ServerState = app.state.mlpipex
    if st.settings.auth:
        app.add_middleware(AuthMiddleware, state=st)  # type: ignore[arg-type]
