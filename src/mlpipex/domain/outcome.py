"""What a logged output says: the label or value predicted and, when the model gives
probabilities, the score of the positive class (for ROC AUC and log loss).

Outputs come as models write them: a bare label or number; a record with a ``label`` (or
``prediction``) and a ``probability`` (or ``score``); or a list of class probabilities, whose
argmax is the label (and, with two classes, the second is the positive score)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

LABEL_KEYS = ("label", "prediction", "predicted", "class", "value")
SCORE_KEYS = ("probability", "score", "proba")


@dataclass(frozen=True, slots=True)
class Outcome:
    predicted: Any
    score: float | None = None


def _probability(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0.0 <= value <= 1.0 else None


def _distribution(values: list[Any]) -> list[float] | None:
    probs = [_probability(v) for v in values]
    if len(probs) < 2 or any(p is None for p in probs):
        return None
    found = [p for p in probs if p is not None]
    return found if math.isclose(sum(found), 1.0, abs_tol=1e-3) else None


def outcome(output: Any) -> Outcome:
    if isinstance(output, dict):
        predicted = next((output[k] for k in LABEL_KEYS if k in output), None)
        score = next((_probability(output[k]) for k in SCORE_KEYS if k in output), None)
        probs = output.get("probabilities")
        dist = _distribution(probs) if isinstance(probs, list) else None
        if dist is not None:
            if predicted is None:
                predicted = max(range(len(dist)), key=dist.__getitem__)
            if score is None and len(dist) == 2:
                score = dist[1]
        return Outcome(predicted, score)
    if isinstance(output, list):
        dist = _distribution(output)
        if dist is not None:
            label = max(range(len(dist)), key=dist.__getitem__)
            return Outcome(label, dist[1] if len(dist) == 2 else None)
        if len(output) == 1:
            return outcome(output[0])
    return Outcome(output)


# Live quality metrics, by task; for each, whether higher is better, and the names a version's
# registered evaluation metrics may give it (compared with the first one found).
CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION = ("mae", "rmse", "r2")
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse"})
REGISTERED_NAMES = {
    "accuracy": ("accuracy", "acc"),
    "precision": ("precision",),
    "recall": ("recall",),
    "f1": ("f1", "f1_score"),
    "roc_auc": ("roc_auc", "auc"),
    "log_loss": ("log_loss", "logloss"),
    "mae": ("mae", "mean_absolute_error"),
    "rmse": ("rmse", "root_mean_squared_error"),
    "r2": ("r2", "r2_score"),
}


def worse_by(metric: str, live: float, registered: float) -> float:
    """How much worse the live value is than the registered one (negative: better)."""
    return live - registered if metric in LOWER_IS_BETTER else registered - live
