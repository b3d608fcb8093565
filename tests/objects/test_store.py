from __future__ import annotations

import os
from pathlib import Path

import blake3
import pytest

from mlpipex.errors import Corrupt, Invalid, NotFound
from mlpipex.objects import ObjectStore, hash_file, open_store
from mlpipex.objects.manifest import hash_tree, store_tree


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return open_store(str(tmp_path / "objects"))


def test_put_file_names_bytes_by_blake3_and_stores_them_once(
    store: ObjectStore, tmp_path: Path
) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(data)
    b.write_bytes(data)
    ea, eb = store.put_file(a), store.put_file(b)
    assert ea.digest == eb.digest == blake3.blake3(data).hexdigest()
    assert ea.size == len(data)
    assert list(store.iter_digests()) == [ea.digest]
    assert Path(store.path(ea.digest)).read_bytes() == data


def test_hash_file_matches_blake3_for_small_large_and_empty_files(tmp_path: Path) -> None:
    for size in (0, 10, 1024 * 1024 + 1, 70 * 1024 * 1024):
        p = tmp_path / f"f{size}"
        data = os.urandom(size) if size < 2**20 else os.urandom(2**20) * (size // 2**20) + b"z"
        p.write_bytes(data)
        seen: list[int] = []
        assert hash_file(p, seen.append) == (blake3.blake3(data).hexdigest(), len(data))
        assert sum(seen) == len(data)


def test_reads_are_verified(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "m"
    src.write_bytes(b"model bytes" * 1000)
    d = store.put_file(src).digest
    assert store.read_bytes(d) == src.read_bytes()
    obj = Path(store.path(d))
    obj.chmod(0o644)
    obj.write_bytes(b"tampered" * 1000)
    with pytest.raises(Corrupt):
        store.read_bytes(d)
    with pytest.raises(Corrupt):
        store.get_file(d, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert store.verify(d) is False


def test_get_file_copies_verified_and_missing_is_not_found(
    store: ObjectStore, tmp_path: Path
) -> None:
    src = tmp_path / "m"
    src.write_bytes(os.urandom(5000))
    d = store.put_file(src).digest
    store.get_file(d, tmp_path / "x" / "copy")
    assert (tmp_path / "x" / "copy").read_bytes() == src.read_bytes()
    with pytest.raises(NotFound):
        store.get_file("0" * 64, tmp_path / "y")
    with pytest.raises(Invalid):
        store.path("../../etc/passwd")


def test_stored_objects_are_read_only_and_no_temp_files_remain(
    store: ObjectStore, tmp_path: Path
) -> None:
    src = tmp_path / "m"
    src.write_bytes(b"abc" * 10)
    d = store.put_file(src).digest
    assert not os.access(store.path(d), os.W_OK) or os.geteuid() == 0
    assert oct(os.stat(store.path(d)).st_mode & 0o777) == "0o444"
    assert store.temp_files() == []


def test_abandoned_write_of_a_dead_process_is_reported(store: ObjectStore) -> None:
    import socket

    pid = 2**22 + 12345  # above the default pid_max: no such process
    tmp = Path(store.root) / "tmp" / f"{socket.gethostname()}.{pid}.abc"
    tmp.parent.mkdir(parents=True)
    tmp.write_bytes(b"partial")
    (found,) = store.temp_files()
    assert found.owner_alive is False
    mine = Path(store.root) / "tmp" / f"{socket.gethostname()}.{os.getpid()}.def"
    mine.write_bytes(b"in progress")
    alive = {Path(t.path).name: t.owner_alive for t in store.temp_files()}
    assert alive == {tmp.name: False, mine.name: True}


def test_put_stream_checks_the_expected_digest(store: ObjectStore) -> None:
    import io

    data = b"streamed" * 10000
    e = store.put_stream(io.BytesIO(data))
    assert e.digest == blake3.blake3(data).hexdigest() and e.size == len(data)
    with pytest.raises(Corrupt):
        store.put_stream(io.BytesIO(b"other"), expected=e.digest)
    assert store.temp_files() == []


def test_put_stream_keeps_every_chunk_in_order_across_write_batches(store: ObjectStore) -> None:
    from mlpipex.objects.writer import WRITE_BATCH

    pieces = [os.urandom(100_000) for _ in range(3 * WRITE_BATCH // 100_000 + 1)]

    class Upload:  # returns less than asked, a received piece at a time, as an upload does
        chunks = iter(pieces)

        def read(self, n: int = -1) -> bytes:
            return next(self.chunks, b"")

    e = store.put_stream(Upload())
    data = b"".join(pieces)
    assert (e.digest, e.size) == (blake3.blake3(data).hexdigest(), len(data))
    assert store.read_bytes(e.digest) == data


def test_a_declared_size_reserves_the_blocks_and_the_object_is_what_arrived(
    store: ObjectStore,
) -> None:
    """The upload's Content-Length reserves the disk before the first write (the file's length
    untouched); an object shorter than declared is still exactly the bytes that came."""
    data = os.urandom(3 * 1024 * 1024)
    reserved: list[int] = []

    class Upload:
        chunks = iter([data[: 1 << 20], data[1 << 20 :]])

        def read(self, n: int = -1) -> bytes:
            if not reserved:
                (tmp,) = store.temp_files()
                st = os.stat(tmp.path)
                reserved.append(st.st_blocks * 512 if st.st_size == 0 else -1)
            return next(self.chunks, b"")

    e = store.put_stream(Upload(), size=len(data))
    assert reserved[0] >= len(data)
    assert store.read_bytes(e.digest) == data and e.size == len(data)
    short = store.put_stream(Upload(), size=len(data))  # nothing left: an empty body
    assert short.size == 0 and store.read_bytes(short.digest) == b""


def test_directory_manifest_lists_every_file_and_stores_each(
    store: ObjectStore, tmp_path: Path
) -> None:
    root = tmp_path / "model"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.bin").write_bytes(b"b" * 100)
    (root / "sub" / "same.bin").write_bytes(b"b" * 100)
    m = hash_tree(root)
    assert [e.path for e in m.files] == ["a.txt", "sub/b.bin", "sub/same.bin"]
    assert m.size == 201
    stored = store_tree(store, root)
    assert stored.digest == m.digest
    assert sorted(store.iter_digests()) == sorted({e.digest for e in m.files})
    (root / "a.txt").write_text("changed")
    assert hash_tree(root).digest != m.digest


def test_empty_directory_and_missing_path_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(Invalid):
        hash_tree(tmp_path / "empty")
    with pytest.raises(NotFound):
        hash_tree(tmp_path / "nope")


def test_large_file_is_hashed_and_copied_once(store: ObjectStore, tmp_path: Path) -> None:
    from mlpipex.objects.store import PARALLEL_MIN

    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(PARALLEL_MIN)
        f.write(os.urandom(4096))
    e = store.put_file(big)
    assert (e.digest, e.size) == hash_file(big)
    assert store.put_file(big).digest == e.digest  # present: the copy is dropped
    assert store.read_bytes(e.digest) == big.read_bytes()
    assert store.temp_files() == []
