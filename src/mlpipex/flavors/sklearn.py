"""The "sklearn" flavor: estimators and pipelines saved with skops, which loads only the types it
is told to trust; pickle only when the user asks for it."""

from __future__ import annotations

import importlib.util
import pickle
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlpipex.errors import Corrupt, Invalid
from mlpipex.flavors.base import (
    PICKLE_REFUSED,
    PackageInfo,
    Saved,
    SaveOptions,
    Stored,
    Trust,
    inside,
)
from mlpipex.flavors.framework import fitted_columns

SKOPS_FILE = "model.skops"
PICKLE_FILE = "model.pkl"

# Trusting any of these would let a file run code on load. skops reports only the types it does
# not trust by default, so a manifest naming one of them was written by hand, not by us.
_DANGEROUS = (
    "builtins.",
    "os.",
    "posix.",
    "nt.",
    "subprocess.",
    "sys.",
    "shutil.",
    "importlib.",
    "pickle.",
    "_pickle.",
    "marshal.",
    "socket.",
    "ctypes.",
    "runpy.",
    "code.",
    "pty.",
    "webbrowser.",
    "multiprocessing.",
    "pathlib.",
    "io.",
    "codecs.",
    "operator.",
)


def is_sklearn(model: object) -> bool:
    if not type(model).__module__.startswith("sklearn") and not hasattr(model, "get_params"):
        return False
    from sklearn.base import BaseEstimator

    return isinstance(model, BaseEstimator)


class SklearnModel:
    """Feeds the estimator what it was fitted on: named columns if it knows feature names
    (avoiding scikit-learn's feature-name warnings and column mix-ups), a plain array if not."""

    def __init__(self, model: Any) -> None:
        self.raw = model
        names = getattr(model, "feature_names_in_", None)
        self._names = None if names is None else [str(n) for n in names]

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        return self.raw.predict(fitted_columns(data, self._names))


def save(dest: Path, model: Any, allow_pickle: bool) -> Saved:
    if allow_pickle:
        return _save_pickle(dest, model)
    import skops.io

    target = dest / SKOPS_FILE
    try:
        skops.io.dump(model, target)
        trusted = list(skops.io.get_untrusted_types(file=target))
        # Loading back is the only proof skops can restore the object (lambdas, local classes
        # and C extension types dump without error and fail here).
        loaded = skops.io.load(target, trusted=trusted)
    except Exception as e:
        raise Invalid(
            f"skops cannot save this {type(model).__name__}: {type(e).__name__}: {e}",
            hint="pass allow_pickle=True to save it with pickle; loading it will then need "
            "allow_pickle=True too, because unpickling runs arbitrary code",
        ) from e
    return Saved(
        model_file=SKOPS_FILE,
        serialization="skops",
        predictor=SklearnModel(loaded),
        requirements=["scikit-learn", "skops"],
        trusted_types=trusted,
    )


def _save_pickle(dest: Path, model: Any) -> Saved:
    # cloudpickle also handles lambdas and classes defined in __main__; plain pickle does not.
    if importlib.util.find_spec("cloudpickle") is not None:
        import cloudpickle

        dumps, serialization = cloudpickle.dumps, "cloudpickle"
    else:
        dumps, serialization = pickle.dumps, "pickle"
    try:
        data = dumps(model)
    except Exception as e:
        raise Invalid(f"cannot pickle this {type(model).__name__}: {e}") from e
    (dest / PICKLE_FILE).write_bytes(data)
    reqs = ["scikit-learn"] + (["cloudpickle"] if serialization == "cloudpickle" else [])
    return Saved(
        model_file=PICKLE_FILE,
        serialization=serialization,
        predictor=SklearnModel(model),
        requirements=reqs,
        pickle=True,
    )


def load(
    file: Path, serialization: str, trusted: Sequence[str] | None, allow_pickle: bool
) -> SklearnModel:
    """Load a model file; ``allow_pickle`` has already been checked against ``serialization``."""
    if serialization in ("pickle", "cloudpickle"):
        if not allow_pickle:
            raise Invalid(PICKLE_REFUSED)
        with file.open("rb") as f:
            # cloudpickle writes ordinary pickle streams; pickle imports cloudpickle if needed.
            return SklearnModel(pickle.load(f))
    if serialization != "skops":
        raise Invalid(f"unknown scikit-learn serialization {serialization!r}")
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    trusted_list = check_trusted(trusted or [])
    try:
        if allow_pickle:
            # The user vouches for the source as for a pickle: trust what the file holds.
            trusted_list = sorted(set(trusted_list) | set(skops.io.get_untrusted_types(file=file)))
        return SklearnModel(skops.io.load(file, trusted=trusted_list))
    except UntrustedTypesFoundException as e:
        raise Invalid(
            f"{file.name} holds types not recorded as trusted: {e}".split("\n")[0],
            hint="pass allow_pickle=True only if you trust the model's source",
        ) from e
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise Corrupt(f"{file.name} is not a readable skops file: {type(e).__name__}: {e}") from e


def check_trusted(types: Sequence[str]) -> list[str]:
    bad = [t for t in types if t.startswith(_DANGEROUS) or "." not in t]
    if bad:
        raise Corrupt(f"the package trusts types that can run code on load: {', '.join(bad)}")
    return [str(t) for t in types]


class SklearnFlavor:
    name = "sklearn"
    loader = "mlpipex.flavors.sklearn"
    framework = "sklearn"
    help = "a scikit-learn estimator or pipeline"

    def accepts(self, model: object) -> bool:
        return is_sklearn(model)

    def save(self, dest: Path, model: Any, options: SaveOptions) -> Saved:
        return save(dest, model, options.allow_pickle)

    def load(self, info: PackageInfo, file: Path, allow_pickle: bool) -> SklearnModel:
        return load(file, info.serialization or "pickle", info.trusted_types, allow_pickle)

    def trust(self, serialization: str | None) -> Trust:
        return Trust.NONE if serialization == "skops" else Trust.CODE

    def from_mlmodel(self, flavors: Mapping[str, Any]) -> Stored | None:
        conf = flavors.get("sklearn")
        if not isinstance(conf, Mapping):
            return None
        return Stored(
            model_file=inside(conf["pickled_model"]),
            serialization=str(conf.get("serialization_format") or "pickle"),
            trusted_types=tuple(conf.get("skops_trusted_types") or ()),
            framework_version=conf.get("sklearn_version"),
        )


SKLEARN = SklearnFlavor()
