"""Shared shapes of the flavors: the ``Flavor`` protocol every flavor (built-in or plugin)
implements, what a package says about itself, a loaded predictor, and what a flavor's saver
wrote."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from mlpipex.domain.manifest import FileEntry
from mlpipex.errors import Corrupt
from mlpipex.flavors.signature import Signature

PICKLE_REFUSED = (
    "this model is pickled; loading it runs arbitrary code: pass allow_pickle=True "
    "(--allow-pickle on the command line) only if you trust its source"
)
CODE_REFUSED = (
    "this model is Python code (serialization: code); loading it runs that code: pass "
    "allow_pickle=True (--allow-pickle on the command line) only if you trust its source"
)


class Trust(StrEnum):
    """What loading a package asks of the caller. ``code``: loading runs code the package
    carries (a pickle, a Python file), so it needs ``allow_pickle``; ``none``: it reads data."""

    NONE = "none"
    CODE = "code"


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
    # The input signature the model file itself declares (an ONNX graph), used when the caller
    # gives no example data.
    signature: Signature | None = None
    # What else the flavor needs to load the file (a model class, class labels), as plain
    # strings and lists: recorded in the manifest's ``flavor_options``.
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SaveOptions:
    """What the caller of ``save_model`` asked of every flavor: pickling allowed, artifacts."""

    allow_pickle: bool = False
    artifacts: Mapping[str, str | Path] | None = None


@dataclass(frozen=True)
class Stored:
    """Where a flavor's model sits in an MLflow model directory, read from its MLmodel entry."""

    model_file: str
    serialization: str | None
    trusted_types: tuple[str, ...] = ()
    framework_version: str | None = None
    artifacts: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)


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
    framework_version: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


class Flavor(Protocol):
    """One way of saving and loading a kind of model. The built-ins and every plugin registered
    under the ``mlpipex.flavors`` entry-point group implement it (see docs/flavors.md).

    ``name`` is what a package records; ``loader`` the module written into the manifest (it is
    informative only: loading dispatches by name); ``framework`` the distribution whose version
    a package records (None when there is none to record); ``help`` one line for error messages.
    """

    @property
    def name(self) -> str: ...

    @property
    def loader(self) -> str: ...

    @property
    def framework(self) -> str | None: ...

    @property
    def help(self) -> str: ...

    def accepts(self, model: object) -> bool:
        """Whether ``save`` can write this object (what ``log_model`` picks the flavor by)."""
        ...

    def save(self, dest: Path, model: Any, options: SaveOptions) -> Saved:
        """Write the model into the empty directory ``dest``."""
        ...

    def load(self, info: PackageInfo, file: Path, allow_pickle: bool) -> Predictor:
        """Load ``file`` (the package's verified model file); trust was checked already."""
        ...

    def trust(self, serialization: str | None) -> Trust:
        """What loading a package saved with this serialization asks of the caller."""
        ...

    def from_mlmodel(self, flavors: Mapping[str, Any]) -> Stored | None:
        """This flavor's model in an MLflow ``MLmodel`` file's ``flavors`` section, or None if
        the directory is not one of this flavor's."""
        ...


def inside(rel: str) -> str:
    """A manifest path must stay inside the package, whatever a hand-edited manifest says."""
    p = PurePosixPath(str(rel))
    if p.is_absolute() or ".." in p.parts or not p.parts or "\\" in str(rel):
        raise Corrupt(f"manifest path {rel!r} points outside the package")
    return p.as_posix()
