"""Entry point of ``mlpipex`` and its error boundary.

The few commands run in loops and scripts (`--version`, `data status`, a plain `repro`, `show
REF` on an embedded registry) take a fast path that never imports typer, click or
pydantic-settings (about 80 ms of imports): it runs only for
argv of plain words it fully understands; anything else (--help, an option, a typo) goes to the
typer app in ``cli.root``, so help, usage errors and exit codes stay typer's.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial


def print_version() -> None:
    from mlpipex import __version__

    sys.stdout.write(f"mlpipex {__version__}\n")


def _repro(args: list[str]) -> Callable[[], None] | None:
    words = [a for a in args if not a.startswith("-")]
    flags = {a for a in args if a.startswith("-")}
    if len(words) > 1 or not flags <= {"--dry", "--force", "-f"}:
        return None
    from mlpipex.cli import datarun

    def run() -> None:
        dry, force = "--dry" in flags, bool(flags & {"--force", "-f"})
        datarun.repro(datarun.workspace(), words[0] if words else None, dry=dry, force=force)

    return run


def _fast(args: list[str]) -> Callable[[], None] | None:
    """What runs args without typer, or None when typer has to parse them."""
    if args == ["--version"]:
        return print_version
    if args[:2] == ["data", "status"] and not any(a.startswith("-") for a in args[2:]):
        from mlpipex.cli import datarun

        return partial(datarun.status, args[2:] or None)
    if args[:1] == ["repro"]:
        return _repro(args[1:])
    if args[:1] == ["show"] and len(args) == 2 and not args[1].startswith("-"):
        from mlpipex.cli import showrun

        return showrun.fast(args[1])
    return None


def _run_fast(fn: Callable[[], None]) -> int:
    # The outcomes typer's own main gives these commands: Ctrl-C is 130, EOF on input is 1.
    try:
        fn()
    except KeyboardInterrupt:
        return 130
    except EOFError:
        sys.stderr.write("\n")
        return 1
    except BaseException as exc:
        from mlpipex.cli.errors import report

        return report(exc, traceback=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on argv and return its exit code; errors are reported here and only here."""
    args = sys.argv[1:] if argv is None else list(argv)
    fast = _fast(args)
    if fast is not None:
        return _run_fast(fast)
    import typer

    from mlpipex.cli.root import command

    try:
        rv = command().main(args=args, prog_name="mlpipex", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 1
    except BaseException as exc:
        from mlpipex.cli.errors import report

        return report(exc, traceback="--traceback" in args)
    return rv if isinstance(rv, int) else 0


def run() -> None:
    sys.exit(main())


def _command() -> object:
    """The click tree of every command, built once per process. Kept under this name for
    process pools that build it before forking workers (the MLflow suite's harness does)."""
    from mlpipex.cli.root import command

    return command()
