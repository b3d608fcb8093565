"""`mlpipex users ...` and `mlpipex tokens ...`: accounts, roles and API tokens."""

from __future__ import annotations

import sys

import typer

from mlpipex.cli.context import client, echo, out
from mlpipex.cli.render import Columns, when
from mlpipex.domain.durations import parse_duration
from mlpipex.errors import Invalid

users_app = typer.Typer(
    help="Users and their roles (viewer, editor, approver, admin).", no_args_is_help=True
)
tokens_app = typer.Typer(help="API tokens: shown once, stored hashed.", no_args_is_help=True)


def _password(stdin: bool) -> str | None:
    if not stdin:
        return None
    value = sys.stdin.readline().rstrip("\n")
    if not value:
        raise Invalid("no password on standard input")
    return value


@users_app.command("create")
def create(
    ctx: typer.Context,
    name: str,
    role: list[str] = typer.Option(["viewer"], "--role", help="Global role; repeat for several."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read a password (for Basic auth and the UI)."
    ),
) -> None:
    """Create a user with global roles."""
    u = client(ctx).create_user(name, role, _password(password_stdin))
    out.print(f"created user {u.name} ({', '.join(u.roles)})")


@users_app.command("list")
def list_(ctx: typer.Context) -> None:
    """Users, their global roles and per-model roles."""
    t = Columns("user", "roles", "models", "disabled", "created")
    for u in client(ctx).list_users():
        grants = ", ".join(f"{m}:{r}" for m, r in sorted(u.grants.items()))
        t.add_row(
            u.name,
            ",".join(u.roles),
            grants or "-",
            "yes" if u.disabled else "no",
            when(u.created_at),
        )
    echo(t)


@users_app.command("grant")
def grant(
    ctx: typer.Context,
    name: str,
    model: str = typer.Option(..., "--model"),
    role: str | None = typer.Option(None, "--role", help="Role on that model; omit to remove."),
) -> None:
    """Give a user a role on one model (only an approver of a model approves its transitions)."""
    client(ctx).grant(name, model, role)
    out.print(f"{name} on {model}: {role or 'no role'}")


@users_app.command("update")
def update(
    ctx: typer.Context,
    name: str,
    role: list[str] = typer.Option(None, "--role", help="Replace the global roles."),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
    disable: bool | None = typer.Option(None, "--disable/--enable"),
) -> None:
    """Change a user's roles, password, or disable them."""
    u = client(ctx).update_user(
        name, roles=role or None, password=_password(password_stdin), disabled=disable
    )
    out.print(f"updated user {u.name} ({', '.join(u.roles)}{', disabled' if u.disabled else ''})")


@tokens_app.command("create")
def token_create(
    ctx: typer.Context,
    user: str | None = typer.Option(None, "--user", help="For this user (admins); default: you."),
    name: str = typer.Option("", "--name", help="What it is for, e.g. ci."),
    expires: str | None = typer.Option(None, "--expires", help="Lifetime, e.g. 30d."),
    only: str | None = typer.Option(
        None,
        "--only-workspace",
        help="Limit it to one workspace (an agent's token: it sees only that workspace).",
    ),
) -> None:
    """Create a token and print it once (use it as MLPIPEX_TOKEN or MLFLOW_TRACKING_TOKEN)."""
    seconds = int(parse_duration(expires)) if expires else None
    token, clear = client(ctx).create_token(user, name, seconds, only)
    out.print(f"token {token.id} for {token.user} (shown once, keep it secret):")
    print(clear)


@tokens_app.command("list")
def token_list(ctx: typer.Context, user: str | None = typer.Option(None, "--user")) -> None:
    """Tokens (ids and names only; secrets are never stored)."""
    t = Columns("id", "user", "name", "created", "state")
    for tok in client(ctx).list_tokens(user):
        state = "revoked" if tok.revoked_at else "active"
        t.add_row(tok.id, tok.user, tok.name or "-", when(tok.created_at), state)
    echo(t)


@tokens_app.command("revoke")
def token_revoke(ctx: typer.Context, token_id: str) -> None:
    """Revoke a token; servers stop accepting it within seconds."""
    client(ctx).revoke_token(token_id)
    out.print(f"revoked token {token_id}")
