"""The one place where errors become exit codes and one-line messages."""

from __future__ import annotations

import sys

from typer.exceptions import TyperException

from mlpipex.cli.context import console
from mlpipex.errors import MLPipeXError

USAGE = 2
INTERNAL = 70
PENDING = 3

err = console(stderr=True, highlight=False, soft_wrap=True)


def report(exc: BaseException, *, traceback: bool) -> int:
    """Print one line for exc and return the exit code it maps to (DESIGN.md)."""
    if traceback:
        raise exc
    if isinstance(exc, MLPipeXError):
        err.print(f"[bold red]error:[/] {exc.message}", markup=True, highlight=False)
        if exc.hint:
            err.print(f"  hint: {exc.hint}", markup=False)
        return exc.exit_code
    if isinstance(exc, TyperException):
        # typer's (vendored click's) usage and parameter errors: they print their own help line
        exc.show(file=sys.stderr)  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", USAGE))
    if isinstance(exc, KeyboardInterrupt):
        err.print("interrupted", markup=False)
        return 130
    err.print(
        f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
        "(run again with --traceback and report it)",
        markup=True,
    )
    return INTERNAL
