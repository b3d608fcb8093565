"""/api/v1/events: the audit log and its verification; /api/v1/admin: fsck and gc."""

from __future__ import annotations

from fastapi import APIRouter, Query

from mlpipex.domain.bounds import Seq, VersionNumber
from mlpipex.domain.models import Event
from mlpipex.server.deps import RegistryDep
from mlpipex.service.events import audit
from mlpipex.service.registry import maintenance

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/events")
def events(
    reg: RegistryDep,
    model: str | None = None,
    version: VersionNumber | None = None,
    kind: str | None = None,
    limit: int | None = Query(None, ge=1, le=10_000),
    before: Seq | None = None,
    newest_first: bool = False,
) -> list[Event]:
    return audit.list_events(reg, model, version, kind, limit, before, newest_first)


@router.get("/events/verify")
def verify(reg: RegistryDep) -> audit.ChainReport:
    return audit.verify_chain(reg)


@router.post("/admin/fsck")
def fsck(reg: RegistryDep) -> maintenance.FsckReport:
    return maintenance.fsck(reg)


@router.post("/admin/gc")
def gc(
    reg: RegistryDep, grace_s: float = maintenance.DEFAULT_GRACE_S, dry_run: bool = False
) -> maintenance.GcReport:
    return maintenance.gc(reg, grace_s=grace_s, dry_run=dry_run)
