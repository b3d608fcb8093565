"""Pages of experiment tracking: experiments, their runs, one run with its metric charts, and
runs compared side by side."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from mlpipex.errors import Invalid
from mlpipex.server.deps import RegistryDep
from mlpipex.server.ui import render
from mlpipex.server.ui.charts import Line, line_chart
from mlpipex.service.context import Registry
from mlpipex.service.tracking import runs as tracking

router = APIRouter(include_in_schema=False)

RUNS_PAGE = 50
EXPERIMENTS_PAGE = 100
MAX_COLUMNS = 12  # params and metrics shown as columns in the runs table, each
MAX_CHARTS = 40  # metric histories charted on one run page
MAX_COMPARE = 8


@router.get("/ui/experiments", response_class=HTMLResponse)
def experiments(
    request: Request, reg: RegistryDep, page: str | None = Query(None, max_length=64)
) -> HTMLResponse:
    found = tracking.search_experiments(reg, max_results=EXPERIMENTS_PAGE, page_token=page)
    return render.page(request, "experiments.html", experiments=found.items, next=found.next_token)


@router.get("/ui/experiments/{experiment_id}", response_class=HTMLResponse)
def experiment(
    request: Request,
    reg: RegistryDep,
    experiment_id: str,
    filter: str = Query("", max_length=1000),
    page: str | None = Query(None, max_length=64),
) -> HTMLResponse:
    exp = tracking.get_experiment(reg, experiment_id)
    runs = tracking.search_runs(
        reg, [exp.id], filter or None, max_results=RUNS_PAGE, page_token=page
    )
    params = sorted({k for r in runs.items for k in r.params})
    metrics = sorted({k for r in runs.items for k in r.metrics})
    return render.page(
        request,
        "experiment.html",
        exp=exp,
        runs=runs.items,
        next=runs.next_token,
        filter=filter,
        params=params[:MAX_COLUMNS],
        metrics=metrics[:MAX_COLUMNS],
        hidden_columns=max(0, len(params) - MAX_COLUMNS) + max(0, len(metrics) - MAX_COLUMNS),
    )


def _history_chart(reg: Registry, run_ids: list[str], labels: list[str], key: str) -> Markup:
    """One metric's history for each run, by step (by time when every step is 0)."""
    histories = [tracking.metric_history(reg, r, key) for r in run_ids]
    by_step = any(m.step for h in histories for m in h)
    first = min((m.timestamp for h in histories for m in h), default=0)
    lines = [
        Line(
            label,
            [(float(m.step) if by_step else (m.timestamp - first) / 1000, m.value) for m in h],
        )
        for label, h in zip(labels, histories, strict=True)
    ]
    return line_chart(lines, title=key, x_label="step" if by_step else "seconds")


@router.get("/ui/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, reg: RegistryDep, run_id: str) -> HTMLResponse:
    run = tracking.get_run(reg, run_id)
    exp = tracking.get_experiment(reg, run.experiment_id)
    keys = sorted(run.metrics)
    charts = [(k, _history_chart(reg, [run.id], [run.name], k)) for k in keys[:MAX_CHARTS]]
    return render.page(
        request,
        "run.html",
        run=run,
        exp=exp,
        charts=charts,
        uncharted=len(keys) - len(charts),
        artifacts=tracking.list_artifacts(reg, run.id),
    )


@router.get("/ui/compare", response_class=HTMLResponse)
def compare(
    request: Request, reg: RegistryDep, runs: list[str] = Query(default_factory=list)
) -> HTMLResponse:
    """Runs side by side; ``?runs=a,b`` or ``?runs=a&runs=b`` (what the checkboxes send)."""
    ids = list(dict.fromkeys(i.strip() for v in runs for i in v.split(",") if i.strip()))
    if not 1 <= len(ids) <= MAX_COMPARE:
        raise Invalid(f"compare takes 1 to {MAX_COMPARE} runs; {len(ids)} given")
    found = [tracking.get_run(reg, i) for i in ids]
    params = sorted({k for r in found for k in r.params})
    metrics = sorted({k for r in found for k in r.metrics})
    labels = [r.name for r in found]
    charts = [
        (k, _history_chart(reg, [r.id for r in found], labels, k)) for k in metrics[:MAX_CHARTS]
    ]
    differs = {k for k in params if len({r.params.get(k) for r in found}) > 1}
    return render.page(
        request,
        "compare.html",
        runs=found,
        params=params,
        metrics=metrics,
        differs=differs,
        charts=charts,
    )
