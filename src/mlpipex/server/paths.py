"""Which requests belong to which API, in one place: the error shapes, the body limits and the
MLflow routers all decide by these prefixes."""

from __future__ import annotations

# MLflow serves its REST API under these roots (ajax-api is what its own UI calls)
MLFLOW_ROOTS = ("/api/2.0", "/api/3.0", "/ajax-api/2.0", "/ajax-api/3.0")
# everything answered with MLflow-shaped errors ({"error_code", "message"})
MLFLOW_PREFIXES = (
    *(f"{root}/" for root in MLFLOW_ROOTS),
    "/v1/traces",
    "/get-artifact",
    "/model-versions/get-artifact",
)
# bodies streamed to the object store rather than read whole (their own size limit; not JSON):
# these paths, and those under the prefixes
UPLOAD_PATHS = frozenset({"/api/v1/objects"})
UPLOADS = (
    "/api/v1/objects/",
    "/api/2.0/mlflow-artifacts/artifacts",
    "/ajax-api/2.0/mlflow-artifacts/artifacts",
)


def is_mlflow(path: str) -> bool:
    return path.startswith(MLFLOW_PREFIXES)


def is_ui(path: str) -> bool:
    """The UI's pages (the model list is the site's root)."""
    return path == "/" or path.startswith("/ui/")


def is_upload(path: str) -> bool:
    return path in UPLOAD_PATHS or path.startswith(UPLOADS)
