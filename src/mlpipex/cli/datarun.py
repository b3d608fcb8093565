"""The bodies of `data status` and a plain `repro`, free of typer and pydantic so that the
fast path of ``cli.main`` runs them without building the command tree (cli/data.py wraps them
for typer; both print exactly the same)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mlpipex.cli.context import console, echo
from mlpipex.data.progress import SILENT, Advance, Reporter
from mlpipex.data.workspace import Workspace

if TYPE_CHECKING:
    from mlpipex.data.repro import StageRun

_err = console(stderr=True)


class _RichReporter(Reporter):
    """Progress bars on stderr, shown only when it is a terminal."""

    @contextmanager
    def task(
        self, description: str, total: int | None = None, *, unit: str = "B"
    ) -> Iterator[Advance]:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        sized = [DownloadColumn(), TransferSpeedColumn()] if unit == "B" else [MofNCompleteColumn()]
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            *sized,
            TimeRemainingColumn(),
            console=_err,
            transient=True,
        ) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n: bar.advance(task, n)


def reporter() -> Reporter:
    return _RichReporter() if sys.stderr.isatty() else SILENT


def workspace() -> Workspace:
    return Workspace.find()


def status(targets: list[str] | None) -> None:
    from mlpipex.data.status import status

    changes = status(workspace(), targets, reporter())
    for c in changes:
        echo(f"{c.kind + ':':<10} {c.path}")
    if not changes:
        echo("data and pointers are up to date")


def notify(r: StageRun) -> None:
    if r.action == "running":
        echo(f"running stage {r.name} ({r.reason})")
    elif r.action == "restored":
        echo(f"stage {r.name} restored from the run cache ({r.reason})")
    elif r.action == "would run":
        echo(f"would run stage {r.name} ({r.reason})")
    elif r.action == "unchanged":
        echo(f"stage {r.name} is up to date")


def repro(ws: Workspace, stage: str | None, *, dry: bool = False, force: bool = False) -> None:
    from mlpipex.data.repro import repro

    repro(ws, stage, dry=dry, force=force, reporter=reporter(), notify=notify)
