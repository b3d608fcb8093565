"""Rendering pages: one Jinja2 environment (autoescape on for every template), its filters, and
the context every page shares (who is signed in, the CSRF token, whether auth is on)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from mlpipex.server.deps import actor, state, visible_workspaces, workspace
from mlpipex.server.ui import csrf
from mlpipex.service.access import workspaces

TEMPLATES = Path(__file__).parent / "templates"


def when(ms: int | None) -> str:
    """Milliseconds since the epoch as UTC, to the minute; the title attribute has the rest."""
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")


def when_full(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")


def size(n: int | None) -> str:
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)  # pragma: no cover


def short(digest: str | None, n: int = 12) -> str:
    """A digest shortened for tables (``blake3:1a2b...`` keeps its algorithm)."""
    if not digest:
        return ""
    algo, sep, hexpart = digest.rpartition(":")
    return f"{algo}{sep}{hexpart[:n]}" if len(hexpart) > n else digest


def number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def seg(value: object) -> str:
    """A value quoted as one URL path segment (model names may hold spaces)."""
    return quote(str(value), safe="")


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when,
        when_full=when_full,
        size=size,
        short=short,
        number=number,
        json=as_json,
        seg=seg,
    )
    return env


ENV = _env()


def _switchable(request: Request) -> list[str]:
    """The workspaces the switcher offers: those the caller may enter. Called by base.html once
    per page it renders (a fragment never does), and read not at all where workspaces are off or
    the caller may enter none (the sign-in page)."""
    st, visible = state(request), visible_workspaces(request)
    if not st.settings.enable_workspaces or visible == frozenset():
        return []
    return [w.name for w in workspaces.list_workspaces(st.registry(actor(request)), visible)]


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with the shared context; sets the CSRF cookie when the browser has none."""
    who = actor(request)
    st = state(request)
    auth = st.settings.auth
    secret, fresh = csrf.secret(request)
    html = ENV.get_template(template).render(
        request=request,
        path=request.url.path,
        user=who,
        auth=auth,
        signed_in=auth and request.cookies.get("mlpipex_token") is not None,
        csrf_token=csrf.token(secret, request),
        workspace=workspace(request),
        workspaces=functools.partial(_switchable, request),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if fresh:
        csrf.set_cookie(response, request, secret)
    return response
