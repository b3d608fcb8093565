"""Keeping tracked data out of git: a ``/name`` line in the ``.gitignore`` beside it, like DVC."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlpipex.data.workspace import Workspace


def ignore(ws: Workspace, rel: str) -> None:
    parent, _, name = rel.rpartition("/")
    path = ws.dest(f"{parent}/.gitignore" if parent else ".gitignore")
    entry = f"/{name}"
    try:
        text = path.read_text()
    except FileNotFoundError:
        text = ""
    if entry in text.splitlines():
        return
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + entry + "\n")
