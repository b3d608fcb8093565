"""The "lightgbm" flavor: a ``Booster`` or a scikit-learn wrapper (``LGBMClassifier``, ...) saved
as LightGBM's text model, never a pickle. A wrapper answers as its ``predict`` does (class labels
for classifiers, recorded at save time), a Booster as ``Booster.predict``: MLflow's pyfunc."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlpipex.flavors import sklearn
from mlpipex.flavors.base import PackageInfo, Predictor, Saved, SaveOptions, Stored, Trust, inside
from mlpipex.flavors.framework import in_feature_order, module_of, require

MODEL_FILE = "model.txt"
TEXT = "text"


def _lgb() -> Any:
    return require("lightgbm", "lightgbm")


class LightGBMModel:
    """The text model's Booster; ``classes`` turns probabilities into the wrapper's labels."""

    def __init__(self, booster: Any, classes: Sequence[Any] | None) -> None:
        self.raw = booster
        self._names = list(booster.feature_name())
        self._classes = None if classes is None else np.asarray(classes)

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        out = self.raw.predict(in_feature_order(data, self._names))
        if self._classes is None:
            return out
        proba = np.column_stack([1.0 - out, out]) if out.ndim == 1 else out
        return self._classes[np.argmax(proba, axis=1)]


class LightGBMFlavor:
    name = "lightgbm"
    loader = "mlpipex.flavors.lightgbm"
    framework = "lightgbm"
    help = "a lightgbm Booster or LGBMClassifier/LGBMRegressor/..."

    def accepts(self, model: object) -> bool:
        if module_of(model) != "lightgbm":
            return False
        lgb = _lgb()
        return isinstance(model, lgb.Booster | lgb.LGBMModel)

    def save(self, dest: Path, model: Any, options: SaveOptions) -> Saved:
        lgb = _lgb()
        booster = model if isinstance(model, lgb.Booster) else model.booster_
        booster.save_model(str(dest / MODEL_FILE))
        classes = None
        if isinstance(model, lgb.LGBMClassifier):
            classes = np.asarray(model.classes_).tolist()
        return Saved(
            model_file=MODEL_FILE,
            serialization=TEXT,
            predictor=LightGBMModel(booster, classes),
            requirements=["lightgbm"],
            options={"model_class": type(model).__name__, "classes": classes},
        )

    def load(self, info: PackageInfo, file: Path, allow_pickle: bool) -> Predictor:
        if info.serialization != TEXT:
            # MLflow saves the wrappers with skops or a pickle: the sklearn flavor's loader.
            serialization = info.serialization or "pickle"
            return sklearn.load(file, serialization, info.trusted_types, allow_pickle)
        booster = _lgb().Booster(model_file=str(file))
        return LightGBMModel(booster, info.options.get("classes"))

    def trust(self, serialization: str | None) -> Trust:
        return Trust.NONE if serialization in (TEXT, "skops") else Trust.CODE

    def from_mlmodel(self, flavors: Mapping[str, Any]) -> Stored | None:
        conf = flavors.get("lightgbm")
        if not isinstance(conf, Mapping):
            return None
        model_class = str(conf.get("model_class", "lightgbm.basic.Booster"))
        booster = model_class.endswith(".Booster")
        return Stored(
            inside(conf["data"]),
            TEXT if booster else str(conf.get("serialization_format") or "cloudpickle"),
            trusted_types=tuple(conf.get("skops_trusted_types") or ()),
            framework_version=conf.get("lgb_version"),
            options={"model_class": model_class.rsplit(".", 1)[-1]},
        )


LIGHTGBM = LightGBMFlavor()
