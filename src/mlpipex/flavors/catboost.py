"""The "catboost" flavor: ``CatBoostClassifier``/``Regressor``/``Ranker`` saved in CatBoost's own
``.cbm`` format, never a pickle; predictions are the model's ``predict`` (class labels for a
classifier), as MLflow's pyfunc gives them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlpipex.errors import Invalid
from mlpipex.flavors.base import PackageInfo, Saved, SaveOptions, Stored, Trust, inside
from mlpipex.flavors.framework import in_feature_order, module_of, pick_class, require

MODEL_FILE = "model.cbm"
# CatBoost's own formats that restore a full model (MLflow may record either).
_FORMATS = ("cbm", "json")
_CLASSES = ("CatBoost", "CatBoostClassifier", "CatBoostRegressor", "CatBoostRanker")


def _cb() -> Any:
    return require("catboost", "catboost")


class CatBoostModel:
    def __init__(self, model: Any) -> None:
        self.raw = model
        self._names = list(model.feature_names_ or ())

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        return self.raw.predict(in_feature_order(data, self._names))


class CatBoostFlavor:
    name = "catboost"
    loader = "mlpipex.flavors.catboost"
    framework = "catboost"
    help = "a CatBoostClassifier/CatBoostRegressor/..."

    def accepts(self, model: object) -> bool:
        return module_of(model) == "catboost" and isinstance(model, _cb().CatBoost)

    def save(self, dest: Path, model: Any, options: SaveOptions) -> Saved:
        cls = type(model).__name__
        pick_class(cls, _classes(), self.name)
        model.save_model(str(dest / MODEL_FILE), format="cbm")
        return Saved(
            model_file=MODEL_FILE,
            serialization="cbm",
            predictor=CatBoostModel(model),
            requirements=["catboost"],
            options={"model_class": cls},
        )

    def load(self, info: PackageInfo, file: Path, allow_pickle: bool) -> CatBoostModel:
        cls = pick_class(str(info.options.get("model_class", "CatBoost")), _classes(), self.name)
        if info.serialization not in _FORMATS:
            raise Invalid(
                f"cannot load a CatBoost model saved as {info.serialization!r}; "
                f"known formats: {', '.join(_FORMATS)}"
            )
        model = cls()
        model.load_model(str(file), format=info.serialization)
        return CatBoostModel(model)

    def trust(self, serialization: str | None) -> Trust:
        return Trust.NONE

    def from_mlmodel(self, flavors: Mapping[str, Any]) -> Stored | None:
        conf = flavors.get("catboost")
        if not isinstance(conf, Mapping):
            return None
        return Stored(
            inside(conf["data"]),
            str(conf.get("save_format") or "cbm"),
            framework_version=conf.get("catboost_version"),
            options={"model_class": str(conf.get("model_type") or "CatBoost")},
        )


def _classes() -> dict[str, type]:
    cb = _cb()
    return {name: getattr(cb, name) for name in _CLASSES}


CATBOOST = CatBoostFlavor()
