"""How data operations report progress without printing: the CLI passes a rich-backed Reporter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Advance = Callable[[int], None]


def _noop(n: int) -> None:
    pass


class Reporter:
    """Receives progress; this base reports nowhere (library use, tests)."""

    @contextmanager
    def task(
        self, description: str, total: int | None = None, *, unit: str = "B"
    ) -> Iterator[Advance]:
        """A bar for one phase; the yielded function advances it (in bytes, or files)."""
        yield _noop


SILENT = Reporter()
