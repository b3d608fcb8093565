"""MLPipeX: a deployment-first model registry, with MLflow-style experiment tracking.

import mlpipex
with mlpipex.start_run(experiment="fraud"):
    mlpipex.log_params({"model": "rf"}); mlpipex.log_metric("auc", 0.93)
    mlpipex.log_dataset("train", "data/train.parquet")
    mlpipex.log_model(model, "model", registered_model_name="fraud")
model = mlpipex.load_model("models:/fraud@champion")
"""

from __future__ import annotations

import importlib
from typing import Any

from mlpipex.client import Client
from mlpipex.tracking import (
    ActiveRun,
    active_run,
    end_run,
    load_model,
    log_artifact,
    log_artifacts,
    log_batch,
    log_dataset,
    log_metric,
    log_metrics,
    log_model,
    log_param,
    log_params,
    set_tag,
    set_tags,
    start_run,
)

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # pyfunc pulls in the flavors; import it only when a model file asks for it.
    if name == "pyfunc":
        return importlib.import_module("mlpipex.pyfunc")
    raise AttributeError(f"module 'mlpipex' has no attribute {name!r}")


__all__ = [
    "ActiveRun",
    "Client",
    "__version__",
    "active_run",
    "end_run",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_batch",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "pyfunc",
    "set_tag",
    "set_tags",
    "start_run",
]
