"""Signing in and out of the UI when the server runs with --auth.

Signing in turns a user and password into an API token named "ui session" that expires in
12 hours, held in an HttpOnly, SameSite=Strict cookie (the auth middleware reads it like a
Bearer token); signing out revokes that token.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from mlpipex.domain.workspaces import DEFAULT_WORKSPACE
from mlpipex.errors import NotFound, Throttled, Unauthorized
from mlpipex.server import deps
from mlpipex.server.deps import RegistryDep, StateDep
from mlpipex.server.ui import csrf, render
from mlpipex.service.access import users as access
from mlpipex.service.context import Actor, Registry

router = APIRouter(include_in_schema=False)

SESSION_HOURS = 12
SESSION_NAME = "ui session"


def _local(target: str) -> str:
    """Only a path on this server is followed after signing in (no open redirect). Browsers drop
    tabs and newlines and read a backslash as a slash, so a path with either could leave it."""
    parts = urlsplit(target)
    ok = (
        target.startswith("/")
        and not parts.scheme
        and not parts.netloc
        and not target.startswith("//")
        and "\\" not in target
        and all(c > " " and c != "\x7f" for c in target)
    )
    return target if ok else "/"


@router.get("/ui/login", response_class=HTMLResponse)
def login_form(
    request: Request, st: StateDep, next: str = Query("/", max_length=2000)
) -> HTMLResponse:
    return render.page(request, "login.html", next=_local(next), error="", auth_on=st.settings.auth)


def _sign_in(st: StateDep, user: str, password: str, client: str | None) -> tuple[str, int]:
    anonymous = Registry(st.store, st.objects, Actor("anonymous", frozenset()), st.policy)
    who = access.authenticate_password(anonymous, user, password, client)
    as_user = Registry(st.store, st.objects, who.actor_in(DEFAULT_WORKSPACE), st.policy)
    _, secret = access.create_token(as_user, who.name, SESSION_NAME, SESSION_HOURS * 3600 * 1000)
    return secret, SESSION_HOURS * 3600


@router.post("/ui/login")
async def login(request: Request, st: StateDep) -> Response:
    form = await csrf.checked_form(request)
    target = _local(form.get("next", "/"))
    if not st.settings.auth:
        return RedirectResponse(target, status_code=303)
    try:
        # scrypt is slow on purpose: keep it off the event loop
        token, max_age = await run_in_threadpool(
            _sign_in,
            st,
            form.get("user", "")[:256],
            form.get("password", "")[:1024],
            request.client.host if request.client else None,
        )
    except Unauthorized as exc:
        throttled = isinstance(exc, Throttled)
        return render.page(
            request,
            "login.html",
            status_code=429 if throttled else 401,
            next=target,
            error=exc.message.capitalize() + "." if throttled else "Wrong user name or password.",
            auth_on=True,
        )
    response = RedirectResponse(target, status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(
        csrf.SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )
    # A new CSRF secret with the new session, so no token from before signing in stays valid.
    csrf.set_cookie(response, request, csrf.new_secret())
    return response


@router.post("/ui/logout")
async def logout(request: Request, reg: RegistryDep) -> Response:
    await csrf.checked_form(request)
    cookie = request.cookies.get(csrf.SESSION_COOKIE, "")
    token_id = cookie.removeprefix(access.TOKEN_PREFIX).partition("_")[0]
    if cookie.startswith(access.TOKEN_PREFIX) and token_id:
        with contextlib.suppress(NotFound):  # already revoked: signing out still succeeds
            await run_in_threadpool(access.revoke_token, reg, token_id)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(csrf.SESSION_COOKIE, path="/")
    response.delete_cookie(csrf.COOKIE, path="/")
    return response


@router.post("/ui/workspace")
async def switch_workspace(request: Request) -> Response:
    """The switcher in the page header: remember the workspace the UI shows, once the caller
    may enter it (else the same "does not exist" as anywhere)."""
    form = await csrf.checked_form(request)
    name = deps.entered(request, form.get("workspace", "") or DEFAULT_WORKSPACE)
    response = RedirectResponse("/", status_code=303)  # another workspace's page would be gone
    response.set_cookie(
        deps.WORKSPACE_COOKIE,
        name,
        max_age=365 * 86400,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response
