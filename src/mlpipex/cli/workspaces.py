"""`mlpipex workspace ...`: the workspaces of one registry or server, their quotas and members.
Every other command acts in the workspace named by the root option `--workspace`
(`MLPIPEX_WORKSPACE`)."""

from __future__ import annotations

import typer

from mlpipex.cli.context import client, echo, out
from mlpipex.cli.render import Columns, when
from mlpipex.domain.workspaces import Quotas

app = typer.Typer(
    help="Workspaces: one registry for many teams; names repeat across workspaces.",
    no_args_is_help=True,
)


@app.command("create")
def create(
    ctx: typer.Context,
    name: str,
    description: str = typer.Option("", "--description", "-d"),
    artifact_root: str | None = typer.Option(
        None, "--artifact-root", help="MLflow's default_artifact_root for it (recorded)."
    ),
) -> None:
    """Create a workspace (needs admin in every workspace)."""
    w = client(ctx).create_workspace(name, description, artifact_root)
    out.print(f"created workspace {w.name}; act in it with --workspace {w.name}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """The workspaces you may enter."""
    t = Columns("workspace", "description", "created")
    for w in client(ctx).list_workspaces():
        t.add_row(w.name, w.description or "-", when(w.created_at))
    echo(t)


@app.command("show")
def show(ctx: typer.Context, name: str) -> None:
    """A workspace: its quotas beside what it holds, and its members."""
    c = client(ctx)
    w, used = c.get_workspace(name), c.workspace_usage(name)
    out.print(f"workspace {w.name}: {w.description or '(no description)'}")
    t = Columns("quota", "used", "limit")
    for key, limit in w.quotas.to_json().items():
        t.add_row(key, f"{used.to_json()[key]:,}", "unlimited" if limit is None else f"{limit:,}")
    echo(t)
    members = c.workspace_members(name)
    out.print("members: " + (", ".join(f"{u} ({r})" for u, r in members) or "none"))


@app.command("quota")
def quota(
    ctx: typer.Context,
    name: str,
    models: int | None = typer.Option(None, "--models", min=0, max=2**31 - 1),
    versions: int | None = typer.Option(None, "--versions", min=0, max=2**31 - 1),
    size: str | None = typer.Option(
        None, "--bytes", help="Stored bytes, e.g. 500G, 2T, 1000000 (none: unlimited)."
    ),
    endpoints: int | None = typer.Option(None, "--endpoints", min=0, max=2**31 - 1),
) -> None:
    """Set a workspace's quotas (needs admin in every workspace); a quota left out is unlimited."""
    w = client(ctx).set_quotas(
        name, Quotas(models, versions, _bytes(size) if size else None, endpoints)
    )
    shown = ", ".join(
        f"{k} {v if v is not None else 'unlimited'}" for k, v in w.quotas.to_json().items()
    )
    out.print(f"workspace {w.name}: {shown}")


def _bytes(text: str) -> int:
    from mlpipex.errors import Invalid

    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    t = text.strip().upper().removesuffix("B")
    scale = units.get(t[-1:], 1)
    number = t[:-1] if t[-1:] in units else t
    try:
        value = int(float(number) * scale)
    except (ValueError, OverflowError):
        raise Invalid(f"not a size: {text[:40]!r}", hint="e.g. 500G, 2T or 1000000") from None
    if not 0 <= value < 2**63:
        raise Invalid(f"size out of range: {text[:40]!r}")
    return value


@app.command("role")
def role(
    ctx: typer.Context,
    name: str,
    user: str = typer.Option(..., "--user"),
    role_: str | None = typer.Option(
        None, "--role", help="viewer, editor, approver or admin; omit to remove."
    ),
) -> None:
    """Give a user a role in the workspace (needs admin there)."""
    client(ctx).set_workspace_role(name, user, role_)
    out.print(f"{user} in {name}: {role_ or 'no role'}")


@app.command("delete")
def delete(ctx: typer.Context, name: str) -> None:
    """Delete an empty workspace (one holding models, experiments or endpoints is refused)."""
    client(ctx).delete_workspace(name)
    out.print(f"deleted workspace {name}")
