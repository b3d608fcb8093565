"""The "xgboost" flavor: a ``Booster`` or a scikit-learn wrapper (``XGBClassifier``, ...) saved
in XGBoost's own UBJSON format, never a pickle. Predictions are what MLflow's pyfunc gives: the
wrapper's ``predict`` (labels for classifiers), a Booster's ``predict`` on a ``DMatrix``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlpipex.flavors.base import PackageInfo, Saved, SaveOptions, Stored, Trust, inside
from mlpipex.flavors.framework import fitted_columns, module_of, pick_class, require

MODEL_FILE = "model.ubj"
_CLASSES = (
    "Booster",
    "XGBClassifier",
    "XGBRegressor",
    "XGBRanker",
    "XGBRFClassifier",
    "XGBRFRegressor",
)


def _xgb() -> Any:
    return require("xgboost", "xgboost")


class XGBoostModel:
    def __init__(self, model: Any) -> None:
        xgb = _xgb()
        self.raw = model
        self._booster = isinstance(model, xgb.Booster)
        booster = model if self._booster else model.get_booster()
        self._names = booster.feature_names
        self._dmatrix = xgb.DMatrix

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        data = fitted_columns(data, self._names)
        if self._booster:
            return self.raw.predict(self._dmatrix(data))
        return self.raw.predict(data)


class XGBoostFlavor:
    name = "xgboost"
    loader = "mlpipex.flavors.xgboost"
    framework = "xgboost"
    help = "an xgboost Booster or XGBClassifier/XGBRegressor/..."

    def accepts(self, model: object) -> bool:
        if module_of(model) != "xgboost":
            return False
        xgb = _xgb()
        return isinstance(model, xgb.Booster | xgb.XGBModel)

    def save(self, dest: Path, model: Any, options: SaveOptions) -> Saved:
        cls = type(model).__name__
        if cls not in _CLASSES:
            # A subclass of the user's would load back as its base class: say so instead.
            pick_class(cls, _classes(), self.name)
        model.save_model(str(dest / MODEL_FILE))
        return Saved(
            model_file=MODEL_FILE,
            serialization="ubj",
            predictor=XGBoostModel(model),
            requirements=["xgboost"],
            options={"model_class": cls},
        )

    def load(self, info: PackageInfo, file: Path, allow_pickle: bool) -> XGBoostModel:
        cls = pick_class(str(info.options.get("model_class", "Booster")), _classes(), self.name)
        model = cls()
        model.load_model(str(file))
        return XGBoostModel(model)

    def trust(self, serialization: str | None) -> Trust:
        return Trust.NONE

    def from_mlmodel(self, flavors: Mapping[str, Any]) -> Stored | None:
        conf = flavors.get("xgboost")
        if not isinstance(conf, Mapping):
            return None
        return Stored(
            inside(conf["data"]),
            str(conf.get("model_format") or "xgb"),
            framework_version=conf.get("xgb_version"),
            options={"model_class": str(conf.get("model_class", "Booster")).rsplit(".", 1)[-1]},
        )


def _classes() -> dict[str, type]:
    xgb = _xgb()
    return {name: getattr(xgb, name) for name in _CLASSES}


XGBOOST = XGBoostFlavor()
