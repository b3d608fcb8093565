"""Shared shapes of the flavors: what a package says about itself, a loaded predictor, and
what a flavor's saver wrote."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from mlpipex.domain.manifest import FileEntry
from mlpipex.errors import Corrupt
from mlpipex.flavors.signature import Signature

PICKLE_REFUSED = (
    "this model is pickled; loading it runs arbitrary code: pass allow_pickle=True "
    "only if you trust its source"
)


class Predictor(Protocol):
    """A loaded model, reduced to the one call serving needs; ``raw`` is the framework object."""

    @property
    def raw(self) -> Any: ...

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any: ...


@dataclass
class Saved:
    """What a flavor's ``save`` wrote: recorded in the manifest, plus the live predictor so the
    output signature can be inferred without loading the package back."""

    model_file: str
    serialization: str
    predictor: Predictor
    requirements: list[str]
    pickle: bool = False
    trusted_types: list[str] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PackageInfo:
    """What a package says about itself. ``source`` is "mlpipex" or "mlflow" (an MLmodel
    directory, which records no digests); ``model_file`` and ``artifacts`` are relative paths."""

    path: Path
    flavor: str
    signature: Signature | None
    pickle: bool
    profile: dict[str, Any] | None
    requirements: tuple[str, ...]
    source: str = "mlpipex"
    loader: str = ""
    model_file: str | None = None
    serialization: str | None = None
    trusted_types: tuple[str, ...] = ()
    artifacts: Mapping[str, str] = field(default_factory=dict)
    python_version: str | None = None
    input_example: str | None = None
    files: tuple[FileEntry, ...] = ()


def inside(rel: str) -> str:
    """A manifest path must stay inside the package, whatever a hand-edited manifest says."""
    p = PurePosixPath(str(rel))
    if p.is_absolute() or ".." in p.parts or not p.parts or "\\" in str(rel):
        raise Corrupt(f"manifest path {rel!r} points outside the package")
    return p.as_posix()
