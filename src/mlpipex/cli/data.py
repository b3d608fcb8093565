"""`mlpipex data ...`, `mlpipex repro`, `mlpipex dag` (built in the data-versioning issue)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

app = typer.Typer(help="Version data by content hash, in git, as DVC does.", no_args_is_help=True)

ROOT_COMMANDS: dict[str, Callable[..., Any]] = {}
