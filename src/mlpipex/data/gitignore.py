"""Keeping tracked data out of git: a ``/name`` line in the ``.gitignore`` beside it, like DVC."""

from __future__ import annotations

from pathlib import Path


def ignore(root: Path, rel: str) -> None:
    parent, _, name = rel.rpartition("/")
    path = root / parent / ".gitignore" if parent else root / ".gitignore"
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
