"""The control plane: FastAPI app with the native API (/api/v1), the MLflow-compatible API
(/api/2.0/mlflow, /api/2.0/mlflow-artifacts), authentication and the UI."""

from mlpipex.server.app import create_app
from mlpipex.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
