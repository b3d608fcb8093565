"""Audit and upkeep: audit, fsck, gc, db upgrade."""

from __future__ import annotations

import typer

from mlpipex.cli import render
from mlpipex.cli.context import client, echo, out
from mlpipex.domain.durations import parse_duration

db_app = typer.Typer(help="The metadata database.", no_args_is_help=True)


def audit(
    ctx: typer.Context,
    model: str | None = typer.Option(None, "--model"),
    kind: str | None = typer.Option(None, "--kind", help="Only this event kind."),
    limit: int | None = typer.Option(None, "--limit", help="The newest N events."),
    verify: bool = typer.Option(
        False, "--verify", help="Recompute the hash chain; exit 1 if broken."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The event log: every change of state with actor, time and reason."""
    c = client(ctx)
    if verify:
        rep = c.verify_audit()
        if not rep.ok:
            out.print(f"[bold red]audit chain broken[/] at event {rep.broken_seq}: {rep.problem}")
            raise typer.Exit(1)
        out.print(f"audit chain verified: {rep.checked} events, intact")
        return
    items = c.events(model=model, kind=kind, limit=limit, newest_first=limit is not None)
    items.sort(key=lambda e: e.seq)
    if as_json:
        out.print_json(render.to_json(items))
    else:
        echo(render.events_table(items))


def fsck(ctx: typer.Context) -> None:
    """Check every object's digest and every version's file references."""
    rep = client(ctx).fsck()
    out.print(f"{rep.objects} objects checked")
    for d in rep.corrupt:
        out.print(f"[red]corrupt[/] {d}")
    for m in rep.missing:
        out.print(f"[red]missing[/] {m}")
    if rep.abandoned_writes:
        out.print(f"{rep.abandoned_writes} abandoned partial write(s): `mlpipex gc` removes them")
    if not rep.ok:
        raise typer.Exit(1)
    out.print("no corruption found")


def gc(
    ctx: typer.Context,
    grace: str = typer.Option("1h", "--grace", help="Keep unreferenced objects younger than this."),
    dry_run: bool = typer.Option(False, "--dry-run"),
) -> None:
    """Remove objects no version references, and abandoned partial writes."""
    rep = client(ctx).gc(parse_duration(grace), dry_run)
    verb = "would remove" if dry_run else "removed"
    out.print(
        f"{verb} {len(rep.removed)} objects ({rep.bytes_freed:,} bytes) and "
        f"{rep.temp_removed} partial writes; kept {rep.kept_young} younger than {grace}"
    )


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply the schema migrations (they also run on first use)."""
    out.print(f"schema at revision {client(ctx).upgrade_schema()}")
