"""`mlpipex experiments list`, `mlpipex runs list EXPERIMENT`, `mlpipex runs show RUN_ID`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from mlpipex.cli import render
from mlpipex.cli.context import client, out

if TYPE_CHECKING:
    from mlpipex.service.tracking.runs import Run

experiments_app = typer.Typer(help="Experiments: named groups of runs.", no_args_is_help=True)
runs_app = typer.Typer(
    help="Runs: params, metrics, tags, datasets, artifacts.", no_args_is_help=True
)


@experiments_app.command("list")
def experiments_list(
    ctx: typer.Context,
    filter: str | None = typer.Option(None, "--filter", help="e.g. \"name LIKE 'fraud%'\""),
    limit: int = typer.Option(100, "--limit", min=1, max=50_000),
    page_token: str | None = typer.Option(None, "--page-token"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Active experiments, by name."""
    c = client(ctx)
    if not c.location.exists:
        out.print("no experiments yet: mlpipex.start_run() creates one")
        return
    page = c.search_experiments(filter, limit, page_token)
    if as_json:
        out.print_json(
            render.to_json({"experiments": page.items, "next_page_token": page.next_token})
        )
        return
    t = Table("id", "name", "created", "tags", box=None, header_style="bold")
    for e in page.items:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(e.tags.items()))
        t.add_row(e.id, e.name, render.when(e.created_at), tags or "-")
    out.print(t)
    _more(page.next_token)


@runs_app.command("list")
def runs_list(
    ctx: typer.Context,
    experiment: list[str] = typer.Argument(..., help="Experiment names or ids."),
    filter: str | None = typer.Option(
        None, "--filter", help="MLflow's grammar: \"metrics.auc > 0.9 and params.model = 'rf'\""
    ),
    order_by: list[str] = typer.Option([], "--order-by", help="e.g. 'metrics.auc DESC' (repeat)."),
    limit: int = typer.Option(100, "--limit", min=1, max=50_000),
    page_token: str | None = typer.Option(None, "--page-token"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Runs of the experiments, newest first unless --order-by says otherwise."""
    page = client(ctx).search_runs(experiment, filter, order_by or None, limit, page_token)
    if as_json:
        out.print_json(render.to_json({"runs": page.items, "next_page_token": page.next_token}))
        return
    if not page.items:
        out.print("no runs match")
        return
    t = Table(
        "run", "name", "status", "started", "params", "metrics", box=None, header_style="bold"
    )
    for r in page.items:
        params = ", ".join(f"{k}={v}" for k, v in sorted(r.params.items()))
        t.add_row(
            r.id,
            r.name,
            r.status,
            render.when(r.start_time),
            _clip(params),
            _clip(render.metrics_text(r.metrics)),
        )
    out.print(t)
    _more(page.next_token)


@runs_app.command("show")
def runs_show(
    ctx: typer.Context, run_id: str, as_json: bool = typer.Option(False, "--json")
) -> None:
    """One run: status, commit, params, latest metrics, tags, datasets and artifacts."""
    c = client(ctx)
    run = c.get_run(run_id)
    artifacts = c.list_artifacts(run_id)
    if as_json:
        out.print_json(render.to_json({"run": run, "artifacts": artifacts}))
        return
    out.print(_detail(run))
    for a in artifacts:
        out.print(f"  artifact {a.path}  {a.size:,} bytes  {a.digest[:12]}")


def _detail(r: Run) -> Table:
    t = Table(box=None, show_header=False)
    t.add_column(style="bold")
    t.add_column()
    commit = (r.commit[:10] + (" (dirty)" if r.commit_dirty else "")) if r.commit else "-"
    ended = render.when(r.end_time) if r.end_time else "-"
    rows = [
        ("run", f"{r.id}  ({r.name})"),
        ("experiment", r.experiment_id),
        ("status", r.status),
        ("started", f"{render.when(r.start_time)} by {r.user_id}"),
        ("ended", ended),
        ("commit", commit),
        ("entry point", r.entry_point or "-"),
        ("parent", r.parent_id or "-"),
    ]
    rows += [(f"param {k}", v) for k, v in sorted(r.params.items())]
    rows += [(f"metric {k}", f"{v:.6g}") for k, v in sorted(r.metrics.items())]
    rows += [(f"tag {k}", v) for k, v in sorted(r.tags.items())]
    rows += [
        (
            f"dataset {d.name}",
            f"{d.digest} {d.uri}" + (f" ({d.num_rows:,} rows)" if d.num_rows is not None else ""),
        )
        for d in r.inputs
    ]
    for k, v in rows:
        t.add_row(k, v)
    return t


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _more(token: str | None) -> None:
    if token:
        out.print(f"more: --page-token {token}")
