"""`show NAME@ALIAS` (or NAME/VERSION, NAME:STAGE) on an embedded registry, free of typer and
pydantic-settings and of the client's other operations, so that the fast path of ``cli.main``
runs it importing only the version lookup: on SQLite, not even SQLAlchemy (cli/versions.py's
`show` prints the same lines, for every registry, through the client)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial

from mlpipex.cli.context import echo
from mlpipex.errors import MLPipeXError
from mlpipex.location import Location, PlainSettings, resolve


def fast(ref: str) -> Callable[[], None] | None:
    """The command, or None when the client has to run it: a server's URL, an environment only
    ``Settings`` reads, or a location it refuses (typer's path reports the error)."""
    settings = PlainSettings.from_environment()
    if settings is None:
        return None
    try:
        loc = resolve(settings.uri, settings.objects)
    except MLPipeXError:
        return None
    return None if loc.kind == "http" else partial(show, loc, settings, ref)


def show(loc: Location, settings: PlainSettings, ref: str) -> None:
    from mlpipex.cli.render import version_detail
    from mlpipex.service.registry.plain import get_version_plain

    # On SQLite, read through the stdlib driver when it answers exactly as the store would: it
    # saves importing SQLAlchemy (about 110 ms). A process that has SQLAlchemy already (the SDK,
    # a caller running the CLI in a loop) reads faster through the shared engine, which keeps
    # its connection and prepared statements (about 0.2 ms a lookup; a new connection reads
    # the schema again, about 0.5 ms).
    version = None if "sqlalchemy" in sys.modules else get_version_plain(loc, settings, ref)
    if version is None:
        from mlpipex.service.open import open_registry
        from mlpipex.service.registry.versions import get_version

        reg = open_registry(loc, settings, create=False, read_only=True)
        try:
            version = get_version(reg, ref)
        finally:
            reg.close()
    echo(version_detail(version))
