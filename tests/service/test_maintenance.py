from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from mlpipex.client import Client

pytestmark = pytest.mark.direct  # reaches into the database or objects, or tracks runs


def test_fsck_reports_corrupt_and_missing_objects(
    client: Client, make_version: Callable[..., int]
) -> None:
    make_version()
    assert client.fsck().ok
    (f,) = client.get_version("fraud/1").files
    path = Path(client.registry.objects.path(f.digest))
    path.chmod(0o644)
    path.write_bytes(b"bit rot")
    rep = client.fsck()
    assert rep.corrupt == [f.digest] and not rep.ok
    path.unlink()
    rep = client.fsck()
    assert rep.corrupt == [] and rep.missing == [f"fraud/1 {f.path} {f.digest}"]


def test_gc_removes_only_unreferenced_objects_past_the_grace_period(
    client: Client, make_version: Callable[..., int], tmp_path: Path
) -> None:
    make_version()
    orphan = tmp_path / "orphan"
    orphan.write_bytes(os.urandom(1000))
    d = client.registry.objects.put_file(orphan).digest
    rep = client.gc()
    assert rep.removed == [] and rep.kept_young == 1
    old = 1_000_000_000
    os.utime(client.registry.objects.path(d), (old, old))
    rep = client.gc(dry_run=True)
    assert rep.removed == [d] and client.registry.objects.exists(d)
    rep = client.gc()
    assert rep.removed == [d] and rep.bytes_freed == 1000
    assert not client.registry.objects.exists(d)
    assert client.fsck().ok
    (kept,) = client.get_version("fraud/1").files
    assert client.registry.objects.exists(kept.digest)


def test_storing_bytes_that_exist_refreshes_their_age_so_gc_keeps_them(
    client: Client, make_file: Callable[..., Path]
) -> None:
    # A registration reusing an old unreferenced object must not lose it to a concurrent gc,
    # which only removes objects older than the grace period.
    blob = make_file("model.bin", size=2000)
    d = client.registry.objects.put_file(blob).digest
    os.utime(client.registry.objects.path(d), (1_000_000_000, 1_000_000_000))
    client.registry.objects.put_file(blob)
    assert client.gc(grace_s=3600).removed == []
    assert client.registry.objects.exists(d)
