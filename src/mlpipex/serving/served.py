"""One model version as a server holds it: the loaded model, the name and version it answers
as, its batcher and its counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpipex.flavors import LoadedModel, load_model
from mlpipex.flavors.signature import Signature
from mlpipex.serving.batcher import Batcher
from mlpipex.serving.metrics import VersionMetrics


@dataclass(frozen=True, slots=True)
class BatchConfig:
    """``max_rows``: rows predicted in one call at most (1 turns batching off);
    ``max_wait_ms``: how long queued requests may wait for more to fill a batch while the
    model is busy (never when it is idle)."""

    max_rows: int = 64
    max_wait_ms: float = 1.0


@dataclass(eq=False)
class ServedModel:
    """A version being served. ``label`` is what every response's ``X-MLPipeX-Model-Version``
    header says: ``NAME/VERSION`` for a registry version, else the path or URI it came from.
    ``allow_pickle`` is kept because each worker process loads its own copy of the model."""

    model: LoadedModel
    name: str
    version: str = ""
    label: str = ""
    allow_pickle: bool = False
    batch: BatchConfig = field(default_factory=BatchConfig)
    metrics: VersionMetrics = field(default_factory=VersionMetrics)
    _batcher: Batcher | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.label:
            self.label = f"{self.name}/{self.version}" if self.version else self.name

    @property
    def signature(self) -> Signature | None:
        return self.model.signature

    @property
    def batcher(self) -> Batcher:
        if self._batcher is None:
            self._batcher = Batcher(
                self.model.predict,
                max_rows=self.batch.max_rows,
                max_wait_ms=self.batch.max_wait_ms,
                metrics=self.metrics,
                name=self.name,
            )
        return self._batcher

    async def predict(self, data: Any, rows: int, params: Mapping[str, Any] | None = None) -> Any:
        """Predict validated input (``rows`` rows), batched with concurrent requests."""
        return await self.batcher.predict(data, rows, params)

    def reload(self) -> None:
        """Load a fresh copy from the package on disk: in a forked worker, thread pools that a
        runtime (onnxruntime, BLAS) started in the parent do not exist any more."""
        self.model = load_model(self.model.info.path, allow_pickle=self.allow_pickle, verify=False)
        self.close()

    def close(self) -> None:
        if self._batcher is not None:
            self._batcher.close()
            self._batcher = None
