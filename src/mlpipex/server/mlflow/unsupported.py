"""MLflow endpoints MLPipeX does not serve, answered with a clear refusal rather than a bare
404: the AI Gateway (endpoints, secrets, providers, the gateway proxy), GraphQL, the LLM
"issues" and the prompt lab."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from mlpipex.server.paths import MLFLOW_ROOTS

router = APIRouter(tags=["mlflow (not supported)"])
_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]
FEATURES = {
    "/mlflow/gateway": "MLflow's AI Gateway",
    "/mlflow/gateway-proxy": "MLflow's AI Gateway",
    "/mlflow/issues": "MLflow's LLM issues",
    "/mlflow/runs/create-promptlab-run": "MLflow's prompt lab",
}


def _refusal(feature: str) -> JSONResponse:
    return JSONResponse(
        {
            "error_code": "NOT_IMPLEMENTED",
            "message": f"{feature} is not supported by this server (MLPipeX); "
            "see docs/http.md for the MLflow API it serves",
        },
        status_code=501,
    )


def _route(path: str, feature: str) -> None:
    async def refuse() -> JSONResponse:
        return _refusal(feature)

    router.add_api_route(path, refuse, methods=_METHODS, include_in_schema=False)


for _path in ("/graphql", "/ajax-api/graphql"):
    _route(_path, "MLflow's GraphQL API")
for _prefix in MLFLOW_ROOTS:
    for _sub, _feature in FEATURES.items():
        _route(_prefix + _sub, _feature)
        _route(_prefix + _sub + "/{rest:path}", _feature)
