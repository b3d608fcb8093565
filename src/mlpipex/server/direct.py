"""The hot routes found by one dictionary lookup and called without FastAPI's request machinery.

FastAPI walks its routers to find a route, then solves the route's dependencies through a
general resolver built for query, body, header and security parameters. The MLflow routes use
none of these: a handler takes the registry, the request's arguments and the artifact root,
each made from the request alone by an async dependency. For them, matching and solving cost
more than the handler's own read (0.2 of 0.5 ms of CPU for a get-by-alias). ``Direct`` answers
those routes first: the exact path in a dict, the same dependencies called in the same order
(each once a request, as FastAPI caches them; the order worked out once per route), a sync
handler on the server's threads (``server/threads.py``). Its errors take the app's handlers as
any route's do. A route it cannot call so (a path parameter, a parameter read from the query, a
dependency that yields) stays FastAPI's.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from mlpipex.server.threads import run_blocking


def _by_request_alone(d: Dependant) -> bool:
    """Whether FastAPI would call this with the request and its sub-dependencies alone."""
    return (
        not (d.path_params or d.query_params or d.header_params or d.cookie_params)
        and not d.body_params
        and d.background_tasks_param_name is None
        and d.response_param_name is None
        and d.websocket_param_name is None
        and d.security_scopes_param_name is None
        and d.http_connection_param_name is None
        and d.use_cache
        and all(_by_request_alone(s) for s in d.dependencies)
    )


def _callable(route: APIRoute) -> bool:
    d = route.dependant
    return (
        "{" not in route.path
        and route.response_model is None
        and _answers_a_response(route.endpoint)
        and _by_request_alone(d)
        and _all_async(d)
    )


def _answers_a_response(endpoint: Callable[..., Any]) -> bool:
    """Whether the handler declares a ``Response``: what FastAPI would otherwise serialize is
    left to it."""
    try:
        answer = typing.get_type_hints(endpoint).get("return")
    except (NameError, TypeError):
        return False
    return isinstance(answer, type) and issubclass(answer, Response)


def _all_async(d: Dependant) -> bool:
    """Whether every dependency under ``d`` is a coroutine function (none yields, none would
    take a thread of its own)."""
    return all(inspect.iscoroutinefunction(s.call) and _all_async(s) for s in d.dependencies)


@dataclass(frozen=True)
class _Step:
    """One call of a request: what it passes the request as, and which earlier calls' values it
    passes under which names (None: called for its effect alone, as ``dependencies=[...]``)."""

    call: Callable[..., Any]
    request_name: str | None
    args: tuple[tuple[str | None, Callable[..., Any]], ...]

    def kwargs(self, request: Request, values: dict[Callable[..., Any], Any]) -> dict[str, Any]:
        kwargs = {name: values[fn] for name, fn in self.args if name}
        if self.request_name:
            kwargs[self.request_name] = request
        return kwargs


def _steps(d: Dependant, seen: set[Callable[..., Any]]) -> list[_Step]:
    """The dependencies under ``d`` in the order FastAPI calls them, each once (its cache is by
    function); ``d`` itself last."""
    steps: list[_Step] = []
    for sub in d.dependencies:
        if sub.call not in seen:
            steps += _steps(sub, seen)
    assert d.call is not None  # a route's handler, or a dependency's function
    seen.add(d.call)
    args = tuple((sub.name, sub.call) for sub in d.dependencies if sub.call is not None)
    return [*steps, _Step(d.call, d.request_param_name, args)]


@dataclass(frozen=True)
class _Plan:
    """A route's dependencies, in order, and its handler: worked out once, not per request."""

    route: APIRoute
    steps: tuple[_Step, ...]
    handler: _Step
    threaded: bool  # a sync handler, run on the server's threads

    @classmethod
    def of(cls, route: APIRoute) -> _Plan:
        *steps, handler = _steps(route.dependant, set())
        return cls(route, tuple(steps), handler, not inspect.iscoroutinefunction(route.endpoint))

    async def __call__(self, request: Request) -> Response:
        values: dict[Callable[..., Any], Any] = {}
        for step in self.steps:
            values[step.call] = await step.call(**step.kwargs(request, values))
        kwargs = self.handler.kwargs(request, values)
        if self.threaded:
            return await run_blocking(self.handler.call, **kwargs)  # type: ignore[no-any-return]
        return await self.handler.call(**kwargs)  # type: ignore[no-any-return]


_PLAN = "mlpipex.direct"  # the matched route's plan, in the request's scope
_NONE: dict[str, _Plan] = {}


class Direct(BaseRoute):
    """The routes of ``routers`` (each under its prefix) that need nothing of FastAPI's but their
    dependencies, matched by exact path and method."""

    def __init__(self, routes: Iterable[tuple[str, APIRoute]]) -> None:
        self.table: dict[str, dict[str, _Plan]] = {}
        for prefix, route in routes:
            if _callable(route):
                plan = _Plan.of(route)
                for method in route.methods or ():
                    self.table.setdefault(prefix + route.path, {})[method] = plan

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            plan = self.table.get(get_route_path(scope), _NONE).get(scope["method"])
            if plan is not None:
                route = plan.route
                return Match.FULL, {
                    "endpoint": route.endpoint,
                    "route": route,
                    "path_params": {},
                    _PLAN: plan,
                }
        # another method on a known path is left to FastAPI, which answers 405 as it would
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await scope[_PLAN](Request(scope, receive))
        await response(scope, receive, send)
