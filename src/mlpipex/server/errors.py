"""The one place where errors become HTTP responses: native bodies under /api/v1 and the UI,
MLflow-shaped bodies (``error_code``, ``message``) under /api/2.0, since the mlflow client
branches on those codes."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from mlpipex.errors import (
    AlreadyExists,
    Conflict,
    FeatureDisabled,
    Forbidden,
    Invalid,
    MLPipeXError,
    NotFound,
    PolicyViolation,
    Throttled,
    Unauthorized,
    Unavailable,
)
from mlpipex.server.mlflow.words import in_mlflow_words
from mlpipex.server.paths import is_mlflow, is_ui

log = logging.getLogger("mlpipex.server")

STATUS: list[tuple[type[MLPipeXError], int]] = [
    (NotFound, 404),
    (AlreadyExists, 409),
    (Conflict, 409),
    (Throttled, 429),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Invalid, 400),
    (Unavailable, 503),
]

MLFLOW_CODES: list[tuple[type[MLPipeXError], str, int]] = [
    (NotFound, "RESOURCE_DOES_NOT_EXIST", 404),
    (AlreadyExists, "RESOURCE_ALREADY_EXISTS", 400),
    (Conflict, "INVALID_STATE", 400),
    (Throttled, "REQUEST_LIMIT_EXCEEDED", 429),
    (FeatureDisabled, "FEATURE_DISABLED", 400),
    (Unauthorized, "UNAUTHENTICATED", 401),
    (Forbidden, "PERMISSION_DENIED", 403),
    (Invalid, "INVALID_PARAMETER_VALUE", 400),
    (Unavailable, "TEMPORARILY_UNAVAILABLE", 503),
]


def status_of(exc: MLPipeXError) -> int:
    return next((s for cls, s in STATUS if isinstance(exc, cls)), 500)


def native_body(exc: MLPipeXError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.hint:
        body["hint"] = exc.hint
    if isinstance(exc, PolicyViolation):
        body["reasons"] = exc.reasons
    return {"error": body}


# the scope's path, not request.url's: the same for these tests, without parsing a URL
def _is_mlflow(request: Request) -> bool:
    return is_mlflow(request.scope["path"])


def _is_ui(request: Request) -> bool:
    return is_ui(request.scope["path"])


def _ui_response(request: Request, exc: MLPipeXError) -> Response:
    """The UI's error page; a browser without a session is sent to sign in instead (a 401 with
    WWW-Authenticate would make it ask for Basic credentials)."""
    from urllib.parse import quote

    from mlpipex.server.ui import render

    if isinstance(exc, Unauthorized):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)
    status = status_of(exc)
    titles = {400: "Refused", 403: "Not allowed", 404: "Not found", 409: "Conflict"}
    return render.page(
        request,
        "error.html",
        status_code=status,
        status=status,
        title=titles.get(status, "Error"),
        message=exc.message,
        hint=exc.hint or "",
        reasons=exc.reasons if isinstance(exc, PolicyViolation) else [],
    )


def _public(request: Request, exc: MLPipeXError) -> MLPipeXError:
    """What a caller is told. A database failure names the database and the driver's words,
    which are for the operator's log; any other message has the server's own paths and URLs
    replaced by what they are."""
    if isinstance(exc, Unavailable):
        log.warning("%s", exc)
        return Unavailable("the registry's database is unavailable", hint="try again shortly")
    st = getattr(request.app.state, "mlpipex", None)
    if st is None:
        return exc
    message, hint = st.scrub(exc.message), st.scrub(exc.hint) if exc.hint else exc.hint
    if (message, hint) == (exc.message, exc.hint):
        return exc
    public = copy.copy(exc)
    public.message, public.hint = message, hint
    public.args = (message,)
    return public


def respond(request: Request, exc: MLPipeXError) -> Response:
    exc = _public(request, exc)
    response = _response(request, exc)
    if isinstance(exc, Throttled) and exc.retry_after_s:
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


def _response(request: Request, exc: MLPipeXError) -> Response:
    if _is_ui(request):
        return _ui_response(request, exc)
    if _is_mlflow(request):
        exc = in_mlflow_words(exc)
        code, status = next(
            ((c, s) for cls, c, s in MLFLOW_CODES if isinstance(exc, cls)), ("INTERNAL_ERROR", 500)
        )
        return JSONResponse({"error_code": code, "message": str(exc)}, status_code=status)
    return JSONResponse(native_body(exc), status_code=status_of(exc))


def install(app: FastAPI) -> None:
    @app.exception_handler(MLPipeXError)
    async def _ours(request: Request, exc: MLPipeXError) -> Response:
        return respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in exc.errors()
        )
        return respond(request, Invalid(f"invalid request: {problems}"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        if exc.status_code == 404 and "//" in path:
            # repeated slashes name the same route, as MLflow's server (werkzeug) merges them
            merged = re.sub("/{2,}", "/", path)
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(merged + query, status_code=308)
        if exc.status_code == 404:
            if _is_mlflow(request):
                return JSONResponse(
                    {
                        "error_code": "ENDPOINT_NOT_FOUND",
                        "message": f"no endpoint {request.url.path}",
                    },
                    status_code=404,
                )
            return respond(request, NotFound(f"no endpoint {request.method} {request.url.path}"))
        detail = str(exc.detail)
        if _is_mlflow(request):
            return JSONResponse(
                {"error_code": "BAD_REQUEST", "message": detail}, status_code=exc.status_code
            )
        return JSONResponse(
            {"error": {"code": "HTTP_ERROR", "message": detail}}, status_code=exc.status_code
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return respond(request, MLPipeXError(f"internal error: {type(exc).__name__}"))
