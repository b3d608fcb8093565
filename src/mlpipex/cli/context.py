"""What commands share: the client for the registry in use, consoles, and progress bars."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import typer
    from rich.console import Console

    from mlpipex.client import Client
    from mlpipex.objects.hashing import Progress as ProgressFn


class _LazyConsole:
    """A rich Console built on first use: commands that print plain lines never import rich."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


def console(**options: Any) -> Console:
    return cast("Console", _LazyConsole(**options))


out = console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 140)
err = console(stderr=True, highlight=False)


def client(ctx: typer.Context) -> Client:
    from mlpipex.client import Client

    state = ctx.find_root().obj
    c: Client = Client(settings=state.settings)
    ctx.call_on_close(c.close)
    return c


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


@contextlib.contextmanager
def byte_progress(description: str, total: int | None) -> Iterator[ProgressFn]:
    """A transient progress bar on stderr, fed by a callback of byte counts."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal or bool(os.environ.get("CI")),
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def echo(text: object) -> None:
    """Plain text to stdout, bypassing rich: tables and details print fast and pipe cleanly."""
    sys.stdout.write(f"{text}\n")
