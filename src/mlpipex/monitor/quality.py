"""Live quality per serving version: logged predictions joined to their feedback by request
id, scored with the metrics the task calls for (``monitor/scores.py``) beside the version's
registered evaluation metrics of the same name. Read by ``mlpipex monitor quality``, the alert
loop, the rollout controller (``min_quality``), the report, the UI and ``/metrics``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlpipex.domain.durations import parse_duration
from mlpipex.domain.outcome import CLASSIFICATION, REGISTERED_NAMES, REGRESSION, worse_by
from mlpipex.errors import Invalid, MLPipeXError
from mlpipex.monitor import feedback, predictions, scores
from mlpipex.service.context import Registry
from mlpipex.service.deploy import endpoints
from mlpipex.service.registry import versions

# Integer labels with at most this many distinct values are classes (task "auto").
MAX_CLASSES = 50
JOINED = ("request_id", "predicted", "output", "score")  # what quality reads of the log


@dataclass(frozen=True, slots=True)
class LiveMetric(scores.Estimate):
    registered: float | None = None


@dataclass(frozen=True, slots=True)
class VersionQuality:
    version: int
    labelled: int
    metrics: dict[str, LiveMetric] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QualityReport:
    endpoint: str
    versions: tuple[VersionQuality, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "versions": [
                {
                    "version": v.version,
                    "labelled": v.labelled,
                    "metrics": {
                        name: {
                            "value": m.value,
                            "ci_low": m.ci_low,
                            "ci_high": m.ci_high,
                            "registered": m.registered,
                        }
                        for name, m in v.metrics.items()
                    },
                }
                for v in self.versions
            ],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> QualityReport:
        return cls(
            str(doc["endpoint"]),
            tuple(
                VersionQuality(
                    int(v["version"]),
                    int(v["labelled"]),
                    {name: LiveMetric(**m) for name, m in v["metrics"].items()},
                )
                for v in doc["versions"]
            ),
        )

    def of(self, version: int) -> VersionQuality | None:
        return next((v for v in self.versions if v.version == version), None)


def join(logged: pa.Table, labels: pa.Table) -> pa.Table:
    """(time, version, predicted, score, label) of every logged prediction with a label, by request
    id; of several labels for one id, the last (labels in the order they were stored).

    One hash lookup per logged row (``index_in`` over the labels' ids, newest first, so an id's
    first match is its latest label); about 3x faster than a hash join carrying the columns."""
    n = labels.num_rows
    newest_first = pa.array(np.arange(n - 1, -1, -1, dtype=np.int64))
    ids = labels.column("request_id").take(newest_first).combine_chunks()
    at = pc.index_in(logged.column("request_id"), value_set=ids)
    found = pc.is_valid(at)
    left = logged.filter(found)
    # Files written before outputs were read into a predicted value hold only the output.
    predicted = pc.coalesce(left.column("predicted"), left.column("output"))
    return pa.table(
        {
            "time": left.column("time"),
            "version": left.column("version"),
            "predicted": predicted,
            "score": left.column("score"),
            "label": labels.column("label").take(newest_first).take(at.filter(found)),
        }
    )


def labelled(reg: Registry, endpoint: str, since_ms: int, version: int | None = None) -> pa.Table:
    """The joined rows (see ``join``) of predictions since since_ms. Labels are read first: with
    none in the window (the common case for the alert loop and /metrics) the log is not read."""
    labels = feedback.read(reg, endpoint, since_ms, version)
    if labels.num_rows == 0:
        logged = predictions.SCHEMA.empty_table()
    else:
        logged = predictions.read(reg, endpoint, since_ms, version, columns=JOINED)
    return join(logged, labels)


def _numbers(values: pa.ChunkedArray) -> np.ndarray | None:
    """JSON texts as float64 when they are all numbers or all booleans, else None."""
    try:
        return np.asarray(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    is_true = pc.equal(values, "true")
    if pc.all(pc.or_(is_true, pc.equal(values, "false"))).as_py():
        return np.asarray(is_true.to_numpy(zero_copy_only=False), dtype=np.float64)
    return None


def _texts(values: pa.ChunkedArray) -> pa.Array:
    """JSON texts as the strings or numbers they hold, written plainly (so "a" and a match)."""
    quoted = pc.and_(pc.starts_with(values, '"'), pc.ends_with(values, '"'))
    if pc.all(quoted).as_py():
        return pc.utf8_slice_codeunits(values, 1, -1).combine_chunks()
    return pa.array([str(json.loads(s)) for s in values.to_pylist()], pa.string())


def task_of(spec_task: str, registered: Mapping[str, float], labels: np.ndarray | None) -> str:
    """The endpoint's task; ``auto``: what the registered metrics name, else what labels look
    like (non-numeric, or whole numbers of few values: classes)."""
    if spec_task != "auto":
        return spec_task
    names = set(registered)
    for task, metrics in (("regression", REGRESSION), ("classification", CLASSIFICATION)):
        if any(alias in names for m in metrics for alias in REGISTERED_NAMES[m]):
            return task
    if labels is None:
        return "classification"
    whole = bool(np.all(np.mod(labels, 1) == 0))
    return "classification" if whole and len(np.unique(labels)) <= MAX_CLASSES else "regression"


def score(rows: pa.Table, task: str) -> dict[str, scores.Estimate]:
    """The task's metrics over joined rows (see ``join``)."""
    truth_n, pred_n = _numbers(rows.column("label")), _numbers(rows.column("predicted"))
    if task == "regression":
        if truth_n is None or pred_n is None:
            raise Invalid("regression quality needs numeric labels and predictions")
        return scores.regression(truth_n, pred_n)
    if truth_n is not None and pred_n is not None:
        classes_n = np.unique(np.concatenate([truth_n, pred_n]))
        truth = np.searchsorted(classes_n, truth_n)
        predicted = np.searchsorted(classes_n, pred_n)
        classes: np.ndarray = classes_n
    else:
        t, p = _texts(rows.column("label")), _texts(rows.column("predicted"))
        uniq = pc.unique(pa.concat_arrays([t, p]))
        classes = np.sort(np.asarray(uniq.to_pylist(), dtype=object))
        value_set = pa.array(classes.tolist(), pa.string())
        truth = pc.index_in(t, value_set=value_set).to_numpy(zero_copy_only=False)
        predicted = pc.index_in(p, value_set=value_set).to_numpy(zero_copy_only=False)
    score_col = rows.column("score").to_numpy(zero_copy_only=False).astype(np.float64)
    return scores.classification(
        truth.astype(np.int64), predicted.astype(np.int64), classes, score_col
    )


def _registered(metrics: Mapping[str, float], name: str) -> float | None:
    return next((float(metrics[a]) for a in REGISTERED_NAMES[name] if a in metrics), None)


def _live(rows: pa.Table, task: str, registered: Mapping[str, float]) -> dict[str, LiveMetric]:
    """The metrics of one version's joined rows beside its registered values."""
    task = task_of(task, registered, _numbers(rows.column("label")))
    return {
        name: LiveMetric(e.value, e.ci_low, e.ci_high, _registered(registered, name))
        for name, e in score(rows, task).items()
    }


@dataclass(frozen=True, slots=True)
class QualityPoint:
    """One version's live quality over the predictions of one bucket of time."""

    time: int  # the bucket's start, ms
    version: int
    labelled: int
    metrics: dict[str, LiveMetric]


def series(reg: Registry, endpoint: str, since_ms: int, bucket_ms: int) -> list[QualityPoint]:
    """Live quality per version and bucket of prediction time, for charts."""
    ep = endpoints.endpoint(reg, endpoint)
    task = ep.spec.monitoring.quality.task
    rows = labelled(reg, endpoint, since_ms)
    buckets = np.asarray(rows.column("time").to_numpy(zero_copy_only=False)) // bucket_ms
    found = np.asarray(rows.column("version").to_numpy(zero_copy_only=False))
    out = []
    for v in np.unique(found).tolist():
        registered = versions.get_version(reg, f"{ep.model}/{v}", files=False).metrics
        for b in np.unique(buckets[found == v]).tolist():
            mine = rows.filter(pa.array((found == v) & (buckets == b)))
            out.append(QualityPoint(b * bucket_ms, v, mine.num_rows, _live(mine, task, registered)))
    return out


def measure(
    reg: Registry,
    endpoint: str,
    version: int | None = None,
    window: str | None = None,
    since_ms: int | None = None,
) -> QualityReport:
    """Per version (the one asked, else those serving and those with labels in the window):
    its labelled predictions of the window (default: the endpoint's monitoring.quality.window)
    and their metrics beside the registered ones."""
    ep = endpoints.endpoint(reg, endpoint)
    spec = ep.spec.monitoring.quality
    if since_ms is None:
        since_ms = reg.clock() - int(parse_duration(window or spec.window) * 1000)
    rows = labelled(reg, endpoint, since_ms, version)
    wanted = {version} if version is not None else {w.version for w in ep.traffic}
    found = np.asarray(rows.column("version").to_numpy(zero_copy_only=False))
    if version is None:
        wanted |= {int(v) for v in np.unique(found)}
    out = []
    for v in sorted(wanted):
        registered = versions.get_version(reg, f"{ep.model}/{v}", files=False).metrics
        mine = rows.filter(pc.equal(rows.column("version"), v))
        if mine.num_rows == 0:
            out.append(VersionQuality(v, 0))
            continue
        out.append(VersionQuality(v, mine.num_rows, _live(mine, spec.task, registered)))
    return QualityReport(endpoint, tuple(out))


def breaches(report: VersionQuality, tolerance: float, min_labels: int) -> dict[str, Any] | None:
    """The alert's details when a metric is worse than registered by more than tolerance."""
    if report.labelled < min_labels:
        return None
    worse = {
        name: {"live": m.value, "registered": m.registered}
        for name, m in report.metrics.items()
        if m.registered is not None and worse_by(name, m.value, m.registered) > tolerance
    }
    if not worse:
        return None
    return {"labelled": report.labelled, "tolerance": tolerance, "metrics": worse}


def live_quality(
    reg: Registry,
) -> Callable[[str, int, int, str], tuple[int, dict[str, float]]]:
    """For rollout analysis: (labelled, metric values) of a version's predictions to an
    endpoint of a workspace since a time ((0, {}) when they cannot be scored)."""

    def measure_since(
        endpoint: str, version: int, since_ms: int, workspace: str
    ) -> tuple[int, dict[str, float]]:
        there = replace(reg, workspace=workspace)
        try:
            found = measure(there, endpoint, version, since_ms=since_ms).of(version)
        except MLPipeXError:
            return 0, {}
        if found is None:
            return 0, {}
        return found.labelled, {name: m.value for name, m in found.metrics.items()}

    return measure_since
