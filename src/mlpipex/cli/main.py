"""Entry point of ``mlpipex``: the root app, its global options and the error boundary."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from mlpipex.cli.errors import report

if TYPE_CHECKING:
    from mlpipex.config import Settings

app = typer.Typer(
    name="mlpipex",
    help="MLPipeX: a deployment-first model registry, with tracking and data versioning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
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
    traceback: bool = typer.Option(False, "--traceback", help="Show the full traceback on errors."),
) -> None:
    ctx.obj = State({"uri": uri, "objects": objects, "user": user}, traceback)


def _register_commands() -> None:
    from mlpipex.cli import (
        access,
        agent,
        audit,
        data,
        endpoint,
        metrics,
        models,
        monitor,
        quickstart,
        runs,
        serve,
        server,
        up,
        versions,
        webhooks,
    )

    commands: dict[str, Callable[..., Any]] = {
        "quickstart": quickstart.quickstart,
        **versions.COMMANDS,
        **audit.COMMANDS,
        **data.ROOT_COMMANDS,
        "server": server.server,
        "serve": serve.serve,
        "agent": agent.agent,
        "up": up.up,
    }
    for name, fn in commands.items():
        app.command(name)(fn)
    groups = {
        "models": models.app,
        "alias": versions.alias_app,
        "data": data.app,
        "db": audit.db_app,
        "users": access.users_app,
        "tokens": access.tokens_app,
        "webhooks": webhooks.app,
        "endpoint": endpoint.app,
        "monitor": monitor.app,
        "metrics": metrics.metrics_app,
        "params": metrics.params_app,
        "plots": metrics.plots_app,
    }
    for name, group in groups.items():
        app.add_typer(group, name=name)
    runs.mount(app)


_register_commands()


@functools.cache
def _command() -> typer.core.TyperGroup:
    # Building the click tree inspects every signature: do it once per process, not per call.
    return typer.main.get_command(app)  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on argv and return its exit code; errors are reported here and only here."""
    args = sys.argv[1:] if argv is None else list(argv)
    command = _command()
    try:
        rv = command.main(args=args, prog_name="mlpipex", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 1
    except BaseException as exc:
        return report(exc, traceback="--traceback" in args)
    return rv if isinstance(rv, int) else 0


def run() -> None:
    sys.exit(main())
