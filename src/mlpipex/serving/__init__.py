"""The model server: MLflow's ``/invocations`` and the Open Inference Protocol v2 over loaded
versions, with adaptive micro-batching and per-version counters. ``ModelServer`` is a plain
ASGI app, so the deployment agent can run several versions in one process or mount it."""

from mlpipex.serving.app import HEADER, ModelServer
from mlpipex.serving.batcher import Batcher
from mlpipex.serving.metrics import LatencyHistogram, VersionMetrics
from mlpipex.serving.run import bind, serve
from mlpipex.serving.served import BatchConfig, ServedModel

__all__ = [
    "HEADER",
    "BatchConfig",
    "Batcher",
    "LatencyHistogram",
    "ModelServer",
    "ServedModel",
    "VersionMetrics",
    "bind",
    "serve",
]
