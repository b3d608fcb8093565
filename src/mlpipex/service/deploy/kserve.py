"""An endpoint as a KServe ``InferenceService`` (``serving.kserve.io/v1beta1``): the versions it
serves now, their packages by storage URI, the Open Inference Protocol (v2), replicas and
resources from the endpoint spec, and for a canary in progress its ``canaryTrafficPercent``.
KServe splits traffic between two revisions only (the latest and the previous ready one), so
an endpoint serving three versions at once cannot be exported."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlpipex.domain.deployment import EndpointStatus
from mlpipex.errors import Invalid

API_VERSION = "serving.kserve.io/v1beta1"
# Package flavors a KServe serving runtime reads natively; any other package is an MLflow
# model directory to KServe (its MLServer runtime serves those over v2).
_NATIVE_FORMATS = {"sklearn", "xgboost", "lightgbm", "onnx"}


@dataclass(frozen=True, slots=True)
class ServedPackage:
    """One version an endpoint serves, as KServe fetches it."""

    version: int
    weight: int  # percent of the endpoint's traffic
    storage_uri: str
    flavor: str | None
    mlflow_format: bool  # the package holds an MLmodel file


def model_format(p: ServedPackage) -> str:
    if p.mlflow_format or p.flavor not in _NATIVE_FORMATS:
        return "mlflow"
    return str(p.flavor)


def inference_service(
    spec: EndpointStatus, served: Sequence[ServedPackage], namespace: str | None = None
) -> dict[str, Any]:
    """The InferenceService serving the endpoint's current versions. With two versions the
    newer is the canary: KServe's latest revision, taking its weight as
    ``canaryTrafficPercent`` from the previous revision (the stable version, applied before
    the rollout began)."""
    routed = sorted((p for p in served if p.weight > 0), key=lambda p: p.version)
    if not routed:
        raise Invalid(f"endpoint {spec.name!r} serves no version yet: nothing to export")
    if len(routed) > 2:
        raise Invalid(
            f"endpoint {spec.name!r} splits traffic over {len(routed)} versions; KServe splits "
            "between two revisions only"
        )
    latest = routed[-1]
    predictor: dict[str, Any] = {
        "model": {
            "modelFormat": {"name": model_format(latest)},
            "protocolVersion": "v2",
            "storageUri": latest.storage_uri,
            **_resources(spec),
        },
        **_replicas(spec),
    }
    if len(routed) == 2:
        predictor["canaryTrafficPercent"] = latest.weight
    metadata: dict[str, Any] = {
        "name": spec.name,
        "labels": {"mlpipex.io/model": spec.model, "mlpipex.io/version": str(latest.version)},
        "annotations": {"mlpipex.io/versions": ",".join(str(p.version) for p in routed)},
    }
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": API_VERSION,
        "kind": "InferenceService",
        "metadata": metadata,
        "spec": {"predictor": predictor},
    }


def _replicas(spec: EndpointStatus) -> dict[str, Any]:
    if spec.autoscaling is not None:
        a = spec.autoscaling
        return {
            "minReplicas": a.min_replicas,
            "maxReplicas": a.max_replicas,
            "scaleMetric": "concurrency",
            "scaleTarget": max(1, math.ceil(a.target_ongoing_requests)),
        }
    if spec.replicas is not None:
        return {"minReplicas": spec.replicas, "maxReplicas": spec.replicas}
    return {}


def _resources(spec: EndpointStatus) -> dict[str, Any]:
    actor = spec.ray_actor_options
    if actor is None:
        return {}
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if actor.num_cpus is not None:
        requests["cpu"] = f"{round(actor.num_cpus * 1000)}m"
    if actor.memory is not None:
        requests["memory"] = str(actor.memory)
    if actor.num_gpus:
        # Kubernetes schedules whole GPUs: a fractional request is rounded up.
        limits["nvidia.com/gpu"] = str(math.ceil(actor.num_gpus))
    out: dict[str, Any] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return {"resources": out} if out else {}
