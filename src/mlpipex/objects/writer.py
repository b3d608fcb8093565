"""The writing half of a streamed store (``ObjectStore.put_stream``): chunks gathered into
batches and written by a thread of their own while the caller hashes what follows, a bounded
number of batches between the two."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from types import TracebackType

WRITE_BATCH = 1024 * 1024  # bytes handed to the writing thread at a time
DEPTH = 8  # batches handed over and not yet written: the caller waits past this many
_END = None


class BatchWriter:
    """``add`` each chunk in order; leaving the block writes the rest and waits for it, or, when
    the block fails, stops the thread without writing more. Either way no thread outlives it.

    The caller no longer waits for each batch to be written before handing over the next (it
    did, through a future per batch): the two threads wake each other only when the queue is
    empty or full, and each takes the GIL back fewer times per megabyte."""

    def __init__(self, write: Callable[[list[bytes]], None]) -> None:
        self._write = write
        self._batches: queue.Queue[list[bytes] | None] = queue.Queue(DEPTH)
        self._batch: list[bytes] = []
        self._held = 0
        self._thread: threading.Thread | None = None  # started by the first full batch
        self._error: BaseException | None = None
        self._abandoned = False

    def add(self, chunk: bytes) -> None:
        self._batch.append(chunk)
        self._held += len(chunk)
        if self._held < WRITE_BATCH:
            return
        if self._error is not None:
            raise self._error
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mlpipex-writer", daemon=True)
            self._thread.start()
        self._batches.put(self._batch)
        self._batch, self._held = [], 0

    def _run(self) -> None:
        while (batch := self._batches.get()) is not _END:
            if self._error is None and not self._abandoned:
                try:
                    self._write(batch)
                except BaseException as exc:  # raised in the caller's thread; keep draining
                    self._error = exc

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._thread is None:  # a body under one batch: written here, no thread started
            if kind is None and self._batch:
                self._write(self._batch)
            return
        if kind is None:
            self._batches.put(self._batch)
        else:
            self._abandoned = True  # the thread drains what is queued without writing it
        self._batches.put(_END)
        self._thread.join()
        if kind is None and self._error is not None:
            raise self._error
