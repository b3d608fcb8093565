"""The typer app of ``mlpipex``: the root group, its global options and the lazy command table
(``cli.main`` is the entry point and the error boundary)."""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click import Command, Context

    from mlpipex.config import Settings

# Every command as "module:attribute" under mlpipex.cli, in the order of `--help` and
# docs/cli.md. A command's module is imported only when that command runs (or help lists them
# all), so `mlpipex show` does not pay for the server, the quickstart or httpx.
COMMANDS = {
    "quickstart": "quickstart:quickstart",
    "register": "versions:register",
    "versions": "versions:versions",
    "show": "versions:show",
    "promote": "versions:promote",
    "approve": "versions:approve",
    "lineage": "versions:lineage",
    "audit": "audit:audit",
    "fsck": "audit:fsck",
    "gc": "audit:gc",
    "repro": "data:repro_cmd",
    "dag": "data:dag_cmd",
    "server": "server:server",
    "serve": "serve:serve",
    "agent": "agent:agent",
    "up": "up:up",
}
GROUPS = {
    "models": "models:app",
    "alias": "versions:alias_app",
    "data": "data:app",
    "db": "audit:db_app",
    "users": "access:users_app",
    "tokens": "access:tokens_app",
    "webhooks": "webhooks:app",
    "endpoint": "endpoint:app",
    "monitor": "monitor:app",
    "metrics": "metrics:metrics_app",
    "params": "metrics:params_app",
    "plots": "metrics:plots_app",
    "experiments": "runs:experiments_app",
    "runs": "runs:runs_app",
    "workspace": "workspaces:app",
}
_SETTINGS: dict[str, Any] = {
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": "rich",
}


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(f"mlpipex.cli.{module}"), attr)


class _LazyGroup(TyperGroup):
    """The root group: lists every command, builds one only when it is asked for."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*COMMANDS, *GROUPS]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and (cmd_name in COMMANDS or cmd_name in GROUPS):
            self.commands[cmd_name] = _build(cmd_name)
        return self.commands.get(cmd_name)


def _build(name: str) -> Command:
    # A one-entry app converted by typer itself, so the command is exactly what a full tree
    # would hold (same markup mode, same parameter handling).
    one = typer.Typer(**_SETTINGS)
    one.callback()(lambda: None)
    if name in COMMANDS:
        one.command(name)(_load(COMMANDS[name]))
    else:
        one.add_typer(_load(GROUPS[name]), name=name)
    group = typer.main.get_command(one)
    assert isinstance(group, TyperGroup)
    return group.commands[name]


app = typer.Typer(
    name="mlpipex",
    help="MLPipeX: a deployment-first model registry, with tracking and data versioning.",
    no_args_is_help=True,
    cls=_LazyGroup,
    **_SETTINGS,
)


@dataclass
class State:
    """The root options; Settings (pydantic) is built only by commands that need it."""

    options: dict[str, str | None]
    traceback: bool = False

    @functools.cached_property
    def settings(self) -> Settings:
        from mlpipex.config import Settings

        given = {k: v for k, v in self.options.items() if v is not None}
        return Settings(**given)  # type: ignore[arg-type]


def _version(value: bool) -> None:
    if value:
        from mlpipex.cli.main import print_version

        print_version()
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    uri: str | None = typer.Option(
        None,
        "--uri",
        envvar="MLPIPEX_URI",
        help="Registry: a folder, sqlite:///, postgresql://, http(s)://",
    ),
    objects: str | None = typer.Option(
        None, "--objects", envvar="MLPIPEX_OBJECTS", help="Object store URL (any fsspec URL)."
    ),
    user: str | None = typer.Option(
        None, "--user", envvar="MLPIPEX_USER", help="Actor recorded in events."
    ),
    workspace: str | None = typer.Option(
        None,
        "--workspace",
        "-w",
        envvar="MLPIPEX_WORKSPACE",
        help="Workspace to act in (default: `default`); a server needs --enable-workspaces.",
    ),
    traceback: bool = typer.Option(False, "--traceback", help="Show the full traceback on errors."),
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_version, help="Print the version and exit."
    ),
) -> None:
    options = {"uri": uri, "objects": objects, "user": user, "workspace": workspace}
    ctx.obj = State(options, traceback)


@functools.cache
def command() -> TyperGroup:
    # Building the click tree inspects every signature: do it once per process, not per call.
    return typer.main.get_command(app)  # type: ignore[return-value]
