"""Metric histories of many runs at once, as MLflow's UI charts them: every value of one key
(GetMetricHistoryBulk), or the values at evenly spaced steps (GetMetricHistoryBulkInterval)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from mlpipex.errors import Invalid, NotFound
from mlpipex.service.context import Registry
from mlpipex.service.tracking import runs as tracking
from mlpipex.service.tracking.checks import Metric

MAX_RUNS = 100
MAX_VALUES = 25_000
MAX_INTERVAL_STEPS = 2500


def _histories(reg: Registry, run_ids: Sequence[str], key: str) -> list[tuple[str, list[Metric]]]:
    """Each known run's history of key, in the order the runs were asked for, as MLflow answers
    (a run that does not exist has none)."""
    out = []
    for run_id in dict.fromkeys(run_ids):
        try:
            out.append((run_id, tracking.metric_history(reg, run_id, key)))
        except NotFound:
            continue
    return out


def history_bulk(
    reg: Registry, run_ids: Sequence[str], key: str, max_results: int
) -> list[tuple[str, Metric]]:
    if not run_ids:
        raise Invalid("GetMetricHistoryBulk request must specify at least one run_id.")
    if len(run_ids) > MAX_RUNS:
        raise Invalid(
            f"GetMetricHistoryBulk request cannot specify more than {MAX_RUNS} run_ids. "
            f"Received {len(run_ids)} run_ids."
        )
    if not key:
        raise Invalid("GetMetricHistoryBulk request must specify a metric_key.")
    if not 1 <= max_results <= MAX_VALUES:
        raise Invalid(f"max_results must be between 1 and {MAX_VALUES}, got {max_results}")
    # MLflow answers this one by run id, each run's values by time, step and value (the
    # interval call below keeps the order asked for)
    out = [
        (run_id, m)
        for run_id, found in _histories(reg, sorted(run_ids), key)
        for m in sorted(found, key=lambda m: (m.timestamp, m.step, m.value))
    ]
    return out[:max_results]


def history_bulk_interval(
    reg: Registry,
    run_ids: Sequence[str],
    key: str,
    start_step: int | None,
    end_step: int | None,
    max_results: int,
) -> list[tuple[str, Metric]]:
    """The values at up to about max_results steps, evenly spaced over the steps the runs
    logged (or those between start_step and end_step), and each run's last step."""
    if not run_ids:
        raise Invalid("Missing value for required parameter 'run_ids'.")
    if len(run_ids) > MAX_RUNS:
        raise Invalid(
            f"GetMetricHistoryBulkInterval request must specify at most {MAX_RUNS} run_ids. "
            f"Received {len(run_ids)} run_ids."
        )
    if not key:
        raise Invalid("Missing value for required parameter 'metric_key'.")
    if not 1 <= max_results <= MAX_INTERVAL_STEPS:
        raise Invalid(f"max_results must be between 1 and {MAX_INTERVAL_STEPS}.")
    if (start_step is None) != (end_step is None):
        raise Invalid("If either start step or end step are specified, both must be specified.")
    if start_step is not None and end_step is not None and end_step < start_step:
        raise Invalid("end_step must be greater than start_step. ")
    histories = _histories(reg, run_ids, key)
    if start_step is not None and end_step is not None:
        histories = [
            (run_id, [m for m in found if start_step <= m.step <= end_step])
            for run_id, found in histories
        ]
    # steps sampled over all runs together, so the runs' charts line up; each run's last too
    steps = sorted({m.step for _, found in histories for m in found})
    stride = max(1, math.ceil(len(steps) / max_results))
    kept = set(steps[::stride]) | {max(m.step for m in found) for _, found in histories if found}
    return [(run_id, m) for run_id, found in histories for m in found if m.step in kept]
