"""Versions: register, versions, show, promote, approve, alias, lineage."""

from __future__ import annotations

from pathlib import Path

import typer

from mlpipex.cli import render
from mlpipex.cli.context import byte_progress, client, echo, out, tree_size
from mlpipex.cli.errors import PENDING
from mlpipex.errors import Invalid

alias_app = typer.Typer(
    help="Movable names (@champion) pointing at one version.", no_args_is_help=True
)


def _pairs(values: list[str], what: str) -> dict[str, str]:
    out_: dict[str, str] = {}
    for text in values:
        k, sep, v = text.partition("=")
        k, v = k.strip(), v.strip()
        if not sep or not k or not v:
            raise Invalid(f"{what} {text!r} is not KEY=VALUE")
        if k in out_:
            raise Invalid(f"{what} {k} is given twice")
        out_[k] = v
    return out_


def register(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Model name (created if new)."),
    path: str | None = typer.Argument(
        None, help="Model file or directory, or runs:/RUN_ID/PATH (with --run: runs:/RUN_ID/model)."
    ),
    commit: str | None = typer.Option(
        None, "--commit", help="Training commit (default: from git)."
    ),
    dataset: list[str] = typer.Option(
        [], "--dataset", help="NAME=PATH, NAME=POINTER or NAME=URI#DIGEST."
    ),
    metric: list[str] = typer.Option([], "--metric", help="KEY=VALUE evaluation metric."),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE."),
    run: str | None = typer.Option(
        None, "--run", help="Source run: inherit its commit, dataset inputs and metrics."
    ),
    flavor: str | None = typer.Option(None, "--flavor"),
    description: str = typer.Option("", "--description", "-d"),
) -> None:
    """Register PATH as the next version of NAME; prints the version number last.

    Refused (exit 1, nothing stored) unless it carries a commit, a dataset and a metric,
    or whatever the model's policy requires. With --run (or PATH runs:/RUN_ID/...), what is not
    given is inherited from the run, and the run's stored artifacts can be the version's files."""
    metrics: dict[str, float] = {}
    for k, v in _pairs(metric, "metric").items():
        try:
            metrics[k] = float(v)
        except ValueError:
            raise Invalid(f"metric {k}: {v!r} is not a number") from None
    if path is None and run is None:
        raise Invalid("give PATH, or --run RUN_ID to register the run's model artifacts")
    source = path if path is not None else f"runs:/{run}/model"
    if source.startswith("runs:/"):
        if run is not None and not source.startswith(f"runs:/{run}/"):
            raise Invalid(f"{source} is not an artifact of run {run}")
        mv = client(ctx).register_model(
            source,
            name,
            commit=commit,
            flavor=flavor,
            datasets=_pairs(dataset, "dataset"),
            metrics=metrics,
            tags=_pairs(tag, "tag"),
            description=description,
        )
    else:
        local = Path(source)
        with byte_progress("hashing", tree_size(local) if local.exists() else None) as progress:
            mv = client(ctx).register(
                name,
                local,
                commit=commit,
                datasets=_pairs(dataset, "dataset"),
                metrics=metrics,
                tags=_pairs(tag, "tag"),
                description=description,
                run_id=run,
                flavor=flavor,
                progress=progress,
            )
    out.print(
        f"registered {mv.model} version {mv.version} ({len(mv.files)} files, "
        f"{mv.artifact_size:,} bytes, artifact {mv.artifact_digest[:12]})"
    )
    print(mv.version)


def versions(
    ctx: typer.Context,
    name: str,
    stage: str | None = typer.Option(None, "--stage"),
    limit: int = typer.Option(100, "--limit", min=1, max=1000),
    page_token: str | None = typer.Option(None, "--page-token"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The versions of a model, newest first: stage, aliases, metrics, commit, datasets."""
    page = client(ctx).list_versions(name, limit, page_token, stage)
    if as_json:
        out.print_json(render.to_json({"versions": page.items, "next_page_token": page.next_token}))
        return
    echo(render.versions_table(page.items))
    if page.next_token:
        out.print(f"more: --page-token {page.next_token}")


def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="NAME/VERSION|NAME@ALIAS|NAME:STAGE"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show one version: stage, aliases, commit, datasets, metrics, artifact."""
    v = client(ctx).get_version(ref)
    if as_json:
        out.print_json(render.to_json(v))
    else:
        echo(render.version_detail(v))


def promote(
    ctx: typer.Context,
    name: str,
    version: int,
    to: str = typer.Option(..., "--to", help="Target stage."),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """Move a version to a stage through the policy's gates.

    Exit 0: done. Exit 3: waiting for approvals (a request is recorded). Exit 1: gates failed."""
    r = client(ctx).promote(name, version, to, reason)
    if r.status == "pending":
        rule = f"{r.approvals_missing} more approval(s)"
        out.print(
            f"{name}/{version} -> {r.to_stage} waits for {rule}: "
            f"`mlpipex approve {name} {version} --to {r.to_stage}`"
        )
        raise typer.Exit(PENDING)
    _done(name, version, r.to_stage, r.replaced)


def approve(
    ctx: typer.Context,
    name: str,
    version: int,
    to: str = typer.Option(..., "--to", help="Stage of the pending request."),
    comment: str = typer.Option("", "--comment"),
) -> None:
    """Approve a pending transition; done once it has enough approvals (exit 3 until then)."""
    r = client(ctx).approve(name, version, to, comment)
    if r.status == "pending":
        missing = r.approvals_missing
        out.print(f"approved; {name}/{version} -> {r.to_stage} still needs {missing} approval(s)")
        raise typer.Exit(PENDING)
    _done(name, version, r.to_stage, r.replaced)


def _done(name: str, version: int, stage: str, replaced: list[int]) -> None:
    extra = f" (replaced version {', '.join(map(str, replaced))})" if replaced else ""
    out.print(f"{name}/{version} is now in {stage}{extra}")


def lineage(ctx: typer.Context, name: str, version: int) -> None:
    """The tree dataset -> run -> version -> stage history -> deployments."""
    out.print(render.lineage_tree(client(ctx).lineage(name, version)))


@alias_app.command("set")
def alias_set(ctx: typer.Context, name: str, alias: str, version: int) -> None:
    """Point ALIAS of NAME at VERSION."""
    before = client(ctx).set_alias(name, alias, version)
    moved = f" (was {before})" if before is not None else ""
    out.print(f"{name}@{alias} -> {version}{moved}")


@alias_app.command("delete")
def alias_delete(ctx: typer.Context, name: str, alias: str) -> None:
    """Remove ALIAS from NAME."""
    client(ctx).delete_alias(name, alias)
    out.print(f"deleted {name}@{alias}")
