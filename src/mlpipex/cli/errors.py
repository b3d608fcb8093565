"""The one place where errors become exit codes and one-line messages."""

from __future__ import annotations

import os
import re
import sys

from mlpipex.cli.context import console
from mlpipex.errors import MLPipeXError

USAGE = 2
INTERNAL = 70
PENDING = 3
CLOSED_PIPE = 141  # what a shell reports for a command its reader stopped reading (128 + SIGPIPE)

err = console(stderr=True, highlight=False, soft_wrap=True)


def report(exc: BaseException, *, traceback: bool) -> int:
    """Print one line for exc and return the exit code it maps to (DESIGN.md)."""
    if traceback:
        raise exc
    if isinstance(exc, MLPipeXError):
        lines = [f"error: {exc.message}", *([f"  hint: {exc.hint}"] if exc.hint else [])]
        if _rich_would_print_as_is(lines):
            sys.stderr.write("".join(f"{line}\n" for line in lines))
            return exc.exit_code
        err.print(f"[bold red]error:[/] {exc.message}", markup=True, highlight=False)
        if exc.hint:
            err.print(f"  hint: {exc.hint}", markup=False)
        return exc.exit_code
    from typer.exceptions import TyperException

    if isinstance(exc, TyperException):
        # typer's (vendored click's) usage and parameter errors: they print their own help line
        exc.show(file=sys.stderr)  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", USAGE))
    # typer meets the closed pipe itself and exits with 1, the BrokenPipeError as its context
    if isinstance(exc, BrokenPipeError) or isinstance(exc.__context__, BrokenPipeError):
        # `mlpipex ... | head`: the reader has what it wanted; nothing to report, and what is
        # still buffered for stdout goes nowhere rather than failing again at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return CLOSED_PIPE
    if isinstance(exc, KeyboardInterrupt):
        err.print("interrupted", markup=False)
        return 130
    err.print(
        f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
        "(run again with --traceback and report it)",
        markup=True,
    )
    return INTERNAL


# What rich would change in a line: markup ([...], on the error line), emoji codes (:name:).
_RICH_READS = re.compile(r"\[|:\S*?:")


def _rich_would_print_as_is(lines: list[str]) -> bool:
    """Whether rich would print lines byte for byte as they are: to a stream it gives no
    colours (not a terminal, nothing in the environment forcing one), printable characters
    only, nothing it reads as markup or an emoji code. Then they are written without it: a
    fast command's refusal (`show` of a missing version) imports neither rich nor typer."""
    if "FORCE_COLOR" in os.environ or "TTY_COMPATIBLE" in os.environ:
        return False
    try:
        if sys.stderr.isatty():
            return False
    except (AttributeError, ValueError):
        return False
    return all(line.isprintable() and not _RICH_READS.search(line) for line in lines)
