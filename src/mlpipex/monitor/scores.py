"""Quality metrics with 95% confidence intervals, vectorised over numpy arrays.

Intervals: accuracy, precision, recall and F1 from a bootstrap of the confusion matrix (1,000
multinomial draws of n rows with the observed cell shares, seeded, so the same rows give the
same interval; percentiles 2.5 and 97.5); ROC AUC analytic (Hanley and McNeil, 1982); log loss,
MAE and MSE as the normal interval of a mean of per-row values, with RMSE the square root of
MSE's bounds and R² computed from them with the labels' variance held fixed.

Precision, recall and F1 are of the positive class with two classes (1, True, or the greater
label) and macro averages over the classes seen with more, as scikit-learn computes them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

Z95 = 1.959963984540054
BOOTSTRAP_DRAWS = 1_000
_SEED = 20261129


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float
    ci_low: float
    ci_high: float


def _mean_interval(values: np.ndarray) -> tuple[float, float, float]:
    mean = float(values.mean())
    half = Z95 * float(values.std(ddof=1)) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    return mean, mean - half, mean + half


def _rates(cells: np.ndarray, k: int, positive: int | None) -> dict[str, np.ndarray]:
    """accuracy, precision, recall, f1 of confusion matrices (..., k*k), row = truth."""
    cm = cells.reshape(*cells.shape[:-1], k, k).astype(np.float64)
    n = cm.sum(axis=(-2, -1))
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    predicted, actual = cm.sum(axis=-2), cm.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
        f1 = np.where(predicted + actual > 0, 2 * tp / (predicted + actual), 0.0)

    def pick(a: np.ndarray) -> np.ndarray:
        return a[..., positive] if positive is not None else a.mean(axis=-1)

    return {
        "accuracy": tp.sum(axis=-1) / n,
        "precision": pick(precision),
        "recall": pick(recall),
        "f1": pick(f1),
    }


def classification(
    truth: np.ndarray, predicted: np.ndarray, classes: np.ndarray, score: np.ndarray | None
) -> dict[str, Estimate]:
    """truth and predicted as codes into classes (sorted); score: the positive class's
    probability per row (NaN where not given), used only with two classes and every row scored."""
    k = max(len(classes), 1)
    # With two sorted classes the positive one is the second: 1 of 0/1, True, the greater.
    positive = 1 if k == 2 else None
    cells = np.bincount(truth * k + predicted, minlength=k * k)
    n = int(cells.sum())
    point = _rates(cells, k, positive)
    draws = np.random.default_rng(_SEED).multinomial(n, cells / n, size=BOOTSTRAP_DRAWS)
    spread = _rates(draws, k, positive)
    out = {
        name: Estimate(
            float(point[name]),
            float(np.percentile(spread[name], 2.5)),
            float(np.percentile(spread[name], 97.5)),
        )
        for name in point
    }
    if positive is not None and score is not None and not np.isnan(score).any():
        y = (truth == positive).astype(np.float64)
        auc = _roc_auc(y, score)
        if auc is not None:
            out["roc_auc"] = auc
        eps = np.finfo(np.float64).eps
        p = np.clip(score, eps, 1 - eps)
        loss = -(y * np.log(p) + (1 - y) * np.log1p(-p))
        out["log_loss"] = Estimate(*_mean_interval(loss))
    return out


def _roc_auc(y: np.ndarray, score: np.ndarray) -> Estimate | None:
    n1 = float(y.sum())
    n0 = float(len(y) - n1)
    if n1 == 0 or n0 == 0:
        return None  # undefined with one class, as scikit-learn says
    ranks = rankdata(score)
    a = float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0)
    half = Z95 * float(np.sqrt(max(var, 0.0)))
    return Estimate(a, max(0.0, a - half), min(1.0, a + half))


def regression(truth: np.ndarray, predicted: np.ndarray) -> dict[str, Estimate]:
    err = truth - predicted
    mae = Estimate(*_mean_interval(np.abs(err)))
    mse, mse_low, mse_high = _mean_interval(err * err)
    mse_low = max(mse_low, 0.0)
    rmse = Estimate(float(np.sqrt(mse)), float(np.sqrt(mse_low)), float(np.sqrt(mse_high)))
    out = {"mae": mae, "rmse": rmse}
    var = float(truth.var())
    if var > 0:
        out["r2"] = Estimate(1 - mse / var, 1 - mse_high / var, 1 - mse_low / var)
    return out
