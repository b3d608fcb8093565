"""MLflow's wording of the errors whose messages its clients and tests match on (the status and
error code already match). The service layer raises typed errors; only the words change here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlpipex.errors import AlreadyExists, Invalid, MLPipeXError, NotFound
from mlpipex.service.registry.models import ModelExists, ModelMissing
from mlpipex.service.registry.versions import VersionMissing
from mlpipex.service.tracking.checks import UnsafePath
from mlpipex.service.tracking.runs import RunMissing, RunNotActive, RunTagMissing


def _version(e: VersionMissing) -> MLPipeXError:
    if e.ref.alias is not None:
        return NotFound(f"Registered model alias {e.ref.alias} not found.")
    return NotFound(f"Model Version (name={e.ref.model}, version={e.ref.version}) not found")


# Checked in order, so a subclass comes before its base.
WORDS: tuple[tuple[type[MLPipeXError], Callable[[Any], MLPipeXError]], ...] = (
    (ModelMissing, lambda e: NotFound(f"Registered Model with name={e.name} not found")),
    (ModelExists, lambda e: AlreadyExists(f"Registered Model (name={e.name}) already exists.")),
    (VersionMissing, _version),
    (RunMissing, lambda e: NotFound(f"Run with id={e.run_id} not found")),
    (
        RunNotActive,
        lambda e: Invalid(
            f"The run {e.run_id} must be in the 'active' state. Current state is {e.stage}."
        ),
    ),
    (RunTagMissing, lambda e: NotFound(f"No tag with name: {e.key} in run with id {e.run_id}")),
    (UnsafePath, lambda e: Invalid("Invalid path")),
)


def in_mlflow_words(exc: MLPipeXError) -> MLPipeXError:
    """The same error (same class for the status and code) with MLflow's message."""
    for cls, word in WORDS:
        if isinstance(exc, cls):
            return word(exc)
    return exc
