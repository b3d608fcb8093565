"""The writing thread of a streamed store: batches written whole and in order while the caller
hashes; a failure in writing, in reading the stream or a digest that does not match leaves no
temporary file and no thread behind."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import blake3
import pytest

from mlpipex.errors import Corrupt, Invalid
from mlpipex.objects import ObjectStore, open_store
from mlpipex.objects.writer import DEPTH, WRITE_BATCH, BatchWriter

CHUNK = 256 * 1024


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return open_store(str(tmp_path / "objects"))


def _writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mlpipex-writer"]


class _Upload:
    """A stream of chunks, as an upload gives them; fail: raise this after that many."""

    def __init__(self, chunks: list[bytes], fail: tuple[int, Exception] | None = None) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._fail, self._given = fail, 0

    def read(self, n: int = -1) -> bytes:
        if self._fail is not None and self._given == self._fail[0]:
            raise self._fail[1]
        self._given += 1
        return next(self._chunks, b"")


def test_batches_are_written_whole_and_in_order_and_the_thread_ends() -> None:
    chunks = [os.urandom(CHUNK) for _ in range(3 * DEPTH * WRITE_BATCH // CHUNK + 1)]
    written: list[bytes] = []
    with BatchWriter(written.extend) as writer:
        for c in chunks:
            writer.add(c)
    assert written == chunks and _writers() == []


def test_a_body_under_one_batch_is_written_without_a_thread() -> None:
    written: list[bytes] = []
    started = threading.active_count()
    with BatchWriter(written.extend) as writer:
        writer.add(b"small")
        assert threading.active_count() == started
    assert written == [b"small"]


def test_a_failed_write_is_raised_in_the_caller_and_the_thread_ends() -> None:
    calls: list[int] = []

    def write(batch: list[bytes]) -> None:
        calls.append(len(batch))
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space"), BatchWriter(write) as writer:
        for _ in range(4 * DEPTH * WRITE_BATCH // CHUNK):
            writer.add(b"x" * CHUNK)
    assert len(calls) == 2 and _writers() == []  # nothing written after the failure


def test_a_failed_write_leaves_no_temporary_file(store: ObjectStore) -> None:
    opened = store._open_write

    def failing(tmp: str, size: int | None = None) -> IO[bytes]:
        f: Any = opened(tmp, size)
        real = f.writelines

        def writelines(batch: list[bytes]) -> None:
            real(batch)
            raise OSError(errno.EIO, "Input/output error")

        f.writelines = writelines
        return f  # type: ignore[no-any-return]

    store._open_write = failing  # type: ignore[method-assign]
    chunks = [os.urandom(CHUNK) for _ in range(3 * WRITE_BATCH // CHUNK)]
    with pytest.raises(OSError, match="Input/output"):
        store.put_stream(_Upload(chunks))
    assert store.temp_files() == [] and list(store.iter_digests()) == [] and _writers() == []


def test_a_stream_failing_midway_leaves_no_temporary_file_and_no_thread(
    store: ObjectStore,
) -> None:
    chunks = [os.urandom(CHUNK) for _ in range(4 * DEPTH * WRITE_BATCH // CHUNK)]
    cut = Invalid("the upload was cut off before its end; nothing was stored")
    with pytest.raises(Invalid, match="cut off"):
        store.put_stream(_Upload(chunks, fail=(len(chunks) // 2, cut)))
    assert store.temp_files() == [] and list(store.iter_digests()) == [] and _writers() == []


def test_a_digest_mismatch_stores_nothing_and_a_match_stores_the_bytes(
    store: ObjectStore,
) -> None:
    chunks = [os.urandom(CHUNK) for _ in range(3 * WRITE_BATCH // CHUNK + 1)]
    data = b"".join(chunks)
    with pytest.raises(Corrupt):
        store.put_stream(_Upload(chunks), expected=blake3.blake3(b"other").hexdigest())
    assert store.temp_files() == [] and list(store.iter_digests()) == [] and _writers() == []
    entry = store.put_stream(_Upload(chunks), expected=blake3.blake3(data).hexdigest())
    assert store.read_bytes(entry.digest) == data and entry.size == len(data)
