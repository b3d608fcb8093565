"""fsck (every object's bytes and every manifest's references) and gc (unreferenced objects)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mlpipex.service.context import Registry
from mlpipex.store import registry

DEFAULT_GRACE_S = 3600.0


@dataclass
class FsckReport:
    objects: int = 0
    corrupt: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # "model/version path digest"
    abandoned_writes: int = 0

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.missing


@dataclass
class GcReport:
    removed: list[str] = field(default_factory=list)
    kept_young: int = 0
    temp_removed: int = 0
    bytes_freed: int = 0


def fsck(reg: Registry) -> FsckReport:
    # Hashes every object: a full read of the store, so not for any viewer to start at will.
    reg.require_everywhere("admin")  # the object store is every workspace's
    report = FsckReport()
    present = set()
    for d in reg.objects.iter_digests():
        present.add(d)
        report.objects += 1
        if not reg.objects.verify(d):
            report.corrupt.append(d)
    with reg.store.read() as conn:
        for model, version, path, digest in registry.all_files(conn):
            if digest not in present:
                report.missing.append(f"{model}/{version} {path} {digest}")
    report.abandoned_writes = sum(1 for t in reg.objects.temp_files() if not t.owner_alive)
    return report


def gc(reg: Registry, *, grace_s: float = DEFAULT_GRACE_S, dry_run: bool = False) -> GcReport:
    """Remove objects nothing references. An object younger than grace_s may belong to a write
    still in progress and is kept; so is a temporary file whose writer is alive and young."""
    reg.require_everywhere("admin")  # the object store is every workspace's
    report = GcReport()
    now = time.time()
    for tmp in reg.objects.temp_files():
        if not tmp.owner_alive or now - tmp.mtime > grace_s:
            report.temp_removed += 1
            if not dry_run:
                reg.objects.remove_path(tmp.path)
    with reg.store.read() as conn:
        referenced = registry.referenced_digests(conn)
    for d in list(reg.objects.iter_digests()):
        if d in referenced:
            continue
        info = reg.objects.info(d)
        if now - info.mtime < grace_s:
            report.kept_young += 1
            continue
        report.removed.append(d)
        report.bytes_freed += info.size
        if not dry_run:
            reg.objects.remove(d)
    return report
