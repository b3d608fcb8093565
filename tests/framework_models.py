"""Real XGBoost, LightGBM and CatBoost models fitted on small data, with what each framework
itself predicts: shared by the flavor, serving and MLflow-client tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import catboost
import lightgbm
import numpy as np
import pandas as pd
import xgboost

COLUMNS = ["f0", "f1", "f2", "f3"]


@dataclass(frozen=True)
class Case:
    """A fitted model, the flavor it saves as, and what the framework itself predicts."""

    flavor: str
    model: Any
    framework_predict: Callable[[pd.DataFrame], np.ndarray]
    file: str


def training_frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(300, len(COLUMNS))), columns=COLUMNS)
    y = ((X["f0"] + X["f2"] * 0.5) > 0).to_numpy().astype(int)
    return X, y


def fitted_cases(X: pd.DataFrame, y: np.ndarray) -> dict[str, Case]:
    arr = X.to_numpy()
    xgb_booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(X, label=y), 8
    )
    lgb_booster = lightgbm.train(
        {"objective": "regression", "verbose": -1}, lightgbm.Dataset(X, label=y), 8
    )
    xgb_reg = xgboost.XGBRegressor(n_estimators=8, max_depth=3).fit(arr, y)
    lgb_clf = lightgbm.LGBMClassifier(n_estimators=8, verbose=-1).fit(X, np.where(y, "yes", "no"))
    cb_clf = catboost.CatBoostClassifier(
        iterations=8, depth=3, verbose=False, allow_writing_files=False
    ).fit(X, y)
    cb_reg = catboost.CatBoostRegressor(
        iterations=8, depth=3, verbose=False, allow_writing_files=False
    ).fit(arr, y)
    xgb_clf = xgboost.XGBClassifier(n_estimators=8, max_depth=3).fit(X, y)
    return {
        "xgb-classifier": Case("xgboost", xgb_clf, xgb_clf.predict, "model.ubj"),
        "xgb-regressor": Case(
            "xgboost", xgb_reg, lambda d: xgb_reg.predict(d.to_numpy()), "model.ubj"
        ),
        "xgb-booster": Case(
            "xgboost", xgb_booster, lambda d: xgb_booster.predict(xgboost.DMatrix(d)), "model.ubj"
        ),
        "lgb-classifier": Case("lightgbm", lgb_clf, lgb_clf.predict, "model.txt"),
        "lgb-booster": Case("lightgbm", lgb_booster, lgb_booster.predict, "model.txt"),
        "cb-classifier": Case("catboost", cb_clf, cb_clf.predict, "model.cbm"),
        "cb-regressor": Case(
            "catboost", cb_reg, lambda d: cb_reg.predict(d.to_numpy()), "model.cbm"
        ),
    }
