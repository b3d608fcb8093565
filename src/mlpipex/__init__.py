"""MLPipeX: a deployment-first model registry, with MLflow-style experiment tracking.

import mlpipex
with mlpipex.start_run(experiment="fraud"):
    mlpipex.log_params({"model": "rf"}); mlpipex.log_metric("auc", 0.93)
    mlpipex.log_dataset("train", "data/train.parquet")
    mlpipex.log_model(model, "model", registered_model_name="fraud")
model = mlpipex.load_model("models:/fraud@champion")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlpipex import lazy

__version__ = "0.1.0"

# The SDK's names load on first use: `import mlpipex` (and every CLI command, which imports the
# package first) stays cheap until a name is touched.
_LAZY = {
    "Client": "mlpipex.client",
    "ActiveRun": "mlpipex.tracking",
    "active_run": "mlpipex.tracking",
    "end_run": "mlpipex.tracking",
    "load_model": "mlpipex.tracking",
    "log_artifact": "mlpipex.tracking",
    "log_artifacts": "mlpipex.tracking",
    "log_batch": "mlpipex.tracking",
    "log_dataset": "mlpipex.tracking",
    "log_metric": "mlpipex.tracking",
    "log_metrics": "mlpipex.tracking",
    "log_model": "mlpipex.tracking",
    "log_param": "mlpipex.tracking",
    "log_params": "mlpipex.tracking",
    "set_tag": "mlpipex.tracking",
    "set_tags": "mlpipex.tracking",
    "start_run": "mlpipex.tracking",
    "pyfunc": "mlpipex.pyfunc",
}

if TYPE_CHECKING:
    from mlpipex import pyfunc
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


__getattr__ = lazy.exports(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)


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
