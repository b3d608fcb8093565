"""`mlpipex webhooks ...`: subscribe URLs to events; deliveries are signed and retried."""

from __future__ import annotations

import sys

import typer

from mlpipex.cli.context import client, echo, out
from mlpipex.cli.render import Columns, when
from mlpipex.errors import Invalid

app = typer.Typer(
    help="Webhooks: signed (HMAC-SHA256), retried, logged deliveries of events.",
    no_args_is_help=True,
)


@app.command("create")
def create(
    ctx: typer.Context,
    url: str,
    event: list[str] = typer.Option(["*"], "--events", "-e", help="Event kind; repeat; * for all."),
    secret: str | None = typer.Option(None, "--secret", help="Signing secret (or --secret-stdin)."),
    secret_stdin: bool = typer.Option(False, "--secret-stdin"),
) -> None:
    """Subscribe URL to event kinds (transition_done, version_registered, rollback, ...)."""
    if secret_stdin:
        secret = sys.stdin.readline().rstrip("\n")
    if not secret:
        raise Invalid("give the signing secret with --secret or --secret-stdin")
    kinds = [k.strip() for e in event for k in e.split(",") if k.strip()]
    w = client(ctx).create_webhook(url, kinds, secret)
    out.print(f"webhook {w.id} -> {w.url} for {', '.join(w.events)}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    t = Columns("id", "url", "events", "by", "created")
    for w in client(ctx).list_webhooks():
        t.add_row(str(w.id), w.url, ",".join(w.events), w.created_by, when(w.created_at))
    echo(t)


@app.command("delete")
def delete(ctx: typer.Context, webhook_id: int) -> None:
    client(ctx).delete_webhook(webhook_id)
    out.print(f"deleted webhook {webhook_id}")


@app.command("test")
def test(ctx: typer.Context, webhook_id: int) -> None:
    """Send a signed test event now and show the receiver's answer (exit 1 unless 2xx)."""
    status = client(ctx).test_webhook(webhook_id)
    out.print(f"webhook {webhook_id} answered HTTP {status}")
    if not 200 <= status < 300:
        raise typer.Exit(1)


@app.command("deliveries")
def deliveries(
    ctx: typer.Context, webhook_id: int, limit: int = typer.Option(50, "--limit")
) -> None:
    """The delivery log of a webhook, newest first."""
    t = Columns("delivery", "event", "status", "attempts", "http", "error")
    for d in client(ctx).webhook_deliveries(webhook_id, limit):
        t.add_row(
            str(d.id),
            str(d.event_seq),
            d.status,
            str(d.attempts),
            str(d.last_status or "-"),
            (d.last_error or "-")[:60],
        )
    echo(t)


@app.command("deliver")
def deliver(ctx: typer.Context) -> None:
    """Send due deliveries once (servers do this continuously; use it for an embedded registry)."""
    out.print(f"delivered {client(ctx).deliver_webhooks()}")
