"""The "python" flavor: models from code, as MLflow's. A code file defines a ``PythonModel``
subclass and calls ``set_model(...)``; the package holds that file and its artifacts, and loading
runs the file and hands ``load_context`` the artifacts' local paths."""

from __future__ import annotations

import inspect
import pickle
import re
import shutil
import sys
import threading
import types
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mlpipex.errors import Invalid, NotFound
from mlpipex.flavors.base import PackageInfo, Saved, SaveOptions, Stored, Trust, inside

ARTIFACTS_DIR = "artifacts"
# MLflow's loader for models-from-code; other pyfunc loaders unpickle a python_model.
_CODE_LOADER = "mlflow.pyfunc.loaders.code_model"
_PYFUNC = "python_function"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class PythonModelContext:
    """Handed to ``load_context`` and ``predict``: artifact names mapped to local paths."""

    artifacts: Mapping[str, str] = field(default_factory=dict)
    model_config: Mapping[str, Any] = field(default_factory=dict)


class PythonModel:
    """Subclass this in a code file and end the file with ``set_model(MyModel())``."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load artifacts (weights, vocabularies) once, before the first ``predict``."""

    def predict(
        self, context: PythonModelContext, model_input: Any, params: Mapping[str, Any] | None = None
    ) -> Any:
        raise NotImplementedError("a PythonModel must define predict(context, model_input, params)")


_current: Any = None
# Running a code file and reading what it passed to set_model must not interleave between threads.
_loading = threading.Lock()


def set_model(model: Any) -> None:
    """Called by a model code file to say which object is the model."""
    global _current
    _current = model


class CodeModel:
    """A loaded code model: calls ``predict`` with the context when it asks for one, as MLflow's
    wrapper does (MLflow 3 allows ``predict(self, model_input, params=None)`` too)."""

    def __init__(self, model: Any, context: PythonModelContext) -> None:
        self.raw = model
        self.context = context
        if hasattr(model, "predict"):
            fn = model.predict
        elif callable(model):
            fn = model
        else:
            raise Invalid(f"the model set by the code file ({type(model).__name__}) has no predict")
        parameters = inspect.signature(fn).parameters
        self._fn = fn
        self._with_context = "context" in parameters
        self._with_params = "params" in parameters

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        kwargs = {"params": params} if self._with_params else {}
        if self._with_context:
            return self._fn(self.context, data, **kwargs)
        return self._fn(data, **kwargs)


def run_code_file(path: Path) -> Any:
    """Execute a model code file and return the object it passed to ``set_model`` (ours, or
    MLflow's ``mlflow.models.set_model`` for directories MLflow wrote)."""
    global _current
    if not path.is_file():
        raise NotFound(f"model code file {path} does not exist")
    # Compiled by hand rather than imported so that no __pycache__ is written into the package:
    # it would break the package's digests and the folder may be read-only.
    code = compile(path.read_bytes(), str(path), "exec")
    name = f"mlpipex_model_{uuid.uuid4().hex}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    with _loading:
        _current = None
        mlflow_model = sys.modules.get("mlflow.models.model")
        if mlflow_model is not None:
            mlflow_model.__mlflow_model__ = None  # type: ignore[attr-defined]
        sys.modules[name] = module  # dataclasses and pickling look the module up by name
        try:
            exec(code, module.__dict__)
        except Exception as e:
            del sys.modules[name]
            raise Invalid(f"running model code {path.name} failed: {type(e).__name__}: {e}") from e
        model = _current
        if model is None:
            mlflow_model = sys.modules.get("mlflow.models.model")
            model = getattr(mlflow_model, "__mlflow_model__", None)
        _current = None
    if model is None:
        raise Invalid(
            f"model code {path.name} did not call mlpipex.pyfunc.set_model(...)",
            hint="end the file with set_model(MyModel())",
        )
    return model


def load_code_model(code: Path, artifacts: Mapping[str, Path]) -> CodeModel:
    return with_context(run_code_file(code), artifacts)


def with_context(model: Any, artifacts: Mapping[str, Path]) -> CodeModel:
    """Give a model object its artifacts through ``load_context``, once, before predicting."""
    context = PythonModelContext({k: str(v) for k, v in artifacts.items()})
    if hasattr(model, "load_context"):
        model.load_context(context)
    return CodeModel(model, context)


def save(dest: Path, python_model: str | Path, artifacts: Mapping[str, str | Path] | None) -> Saved:
    src = Path(python_model)
    if not src.is_file() or src.suffix != ".py":
        raise Invalid(f"python_model must be a .py file, got {src}")
    shutil.copy2(src, dest / src.name)
    copied = {name: _copy_artifact(dest, name, Path(p)) for name, p in (artifacts or {}).items()}
    predictor = load_code_model(dest / src.name, {k: dest / v for k, v in copied.items()})
    return Saved(
        model_file=src.name,
        serialization="code",
        predictor=predictor,
        requirements=["mlpipex"],
        artifacts=copied,
    )


def _copy_artifact(dest: Path, name: str, src: Path) -> str:
    """Copy one artifact to artifacts/NAME/ and return its path relative to the package."""
    if not _NAME.fullmatch(name):
        raise Invalid(f"artifact name {name!r} must be letters, digits, '_', '.' or '-'")
    if not src.exists():
        raise NotFound(f"artifact {name}: {src} does not exist")
    target = dest / ARTIFACTS_DIR / name
    if src.is_dir():
        shutil.copytree(src, target, symlinks=False)
        return f"{ARTIFACTS_DIR}/{name}"
    target.mkdir(parents=True)
    shutil.copy2(src, target / src.name)
    return f"{ARTIFACTS_DIR}/{name}/{src.name}"


class PythonFlavor:
    """Code files always run on load, and MLflow's pickled python models unpickle: both need
    the caller's trust."""

    name = "python"
    loader = "mlpipex.flavors.python"
    framework = None
    help = "python_model='model.py'"

    def accepts(self, model: object) -> bool:
        return isinstance(model, str | Path) and str(model).endswith(".py")

    def save(self, dest: Path, model: Any, options: SaveOptions) -> Saved:
        return save(dest, model, options.artifacts)

    def load(self, info: PackageInfo, file: Path, allow_pickle: bool) -> CodeModel:
        artifacts = {name: info.path / rel for name, rel in info.artifacts.items()}
        if info.serialization == "code":
            return load_code_model(file, artifacts)
        with file.open("rb") as f:
            return with_context(pickle.load(f), artifacts)

    def trust(self, serialization: str | None) -> Trust:
        return Trust.CODE

    def from_mlmodel(self, flavors: Mapping[str, Any]) -> Stored | None:
        pyfunc = flavors.get(_PYFUNC)
        if not isinstance(pyfunc, Mapping):
            return None
        artifacts = {
            str(name): inside(a["path"]) for name, a in (pyfunc.get("artifacts") or {}).items()
        }
        if "model_code_path" in pyfunc or pyfunc.get("loader_module") == _CODE_LOADER:
            # MLflow records the code file's original absolute path; the copy sits at the top.
            code = PurePosixPath(str(pyfunc.get("model_code_path", "")).replace("\\", "/")).name
            return Stored(inside(code), "code", artifacts=artifacts)
        if "python_model" in pyfunc:
            return Stored(inside(pyfunc["python_model"]), "cloudpickle", artifacts=artifacts)
        return None


PYTHON = PythonFlavor()
