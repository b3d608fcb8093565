"""The hot routes found by one dictionary lookup and called without FastAPI's request machinery.

FastAPI walks its routers to find a route, then solves the route's dependencies through a
general resolver built for query, body, header and security parameters. The MLflow routes use
none of these: a handler takes the registry, the request's arguments and the artifact root,
each made from the request alone by an async dependency. For them, matching and solving cost
more than the handler's own read (0.2 of 0.5 ms of CPU for a get-by-alias). ``Direct`` answers
those routes first: the exact path in a dict, the same dependencies called in the same order
(each once a request, as FastAPI caches them), the handler on the same thread pool. Its errors
take the app's handlers as any route's do. A route it cannot call so (a path parameter, a
parameter read from the query, a dependency that yields) stays FastAPI's.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send


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


async def _solve(
    d: Dependant, request: Request, cache: dict[Callable[..., Any], Any], call: bool = True
) -> Any:
    """The value of dependency ``d`` (cached by its function, as FastAPI does), or with
    ``call=False`` the arguments of the handler ``d``."""
    kwargs: dict[str, Any] = {}
    if d.request_param_name:
        kwargs[d.request_param_name] = request
    for sub in d.dependencies:
        fn = sub.call
        value = cache[fn] if fn in cache else await _solve(sub, request, cache)
        if sub.name:
            kwargs[sub.name] = value
    if not call or d.call is None:
        return kwargs
    value = await d.call(**kwargs)
    cache[d.call] = value
    return value


class Direct(BaseRoute):
    """The routes of ``routers`` (each under its prefix) that need nothing of FastAPI's but their
    dependencies, matched by exact path and method."""

    def __init__(self, routes: Iterable[tuple[str, APIRoute]]) -> None:
        self.table: dict[str, dict[str, APIRoute]] = {}
        for prefix, route in routes:
            if _callable(route):
                for method in route.methods or ():
                    self.table.setdefault(prefix + route.path, {})[method] = route

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            route = self.table.get(get_route_path(scope), {}).get(scope["method"])
            if route is not None:
                return Match.FULL, {"endpoint": route.endpoint, "route": route, "path_params": {}}
        # another method on a known path is left to FastAPI, which answers 405 as it would
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: APIRoute = scope["route"]
        request = Request(scope, receive)
        kwargs = await _solve(route.dependant, request, {}, call=False)
        if inspect.iscoroutinefunction(route.endpoint):
            response: Response = await route.endpoint(**kwargs)
        else:
            response = await run_in_threadpool(route.endpoint, **kwargs)
        await response(scope, receive, send)
