"""The audit page: the event log newest first, filtered and paginated, and the chain's
verification, loaded after the page (it reads every event, so it must not hold the page up)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from mlpipex.domain import events as ev
from mlpipex.domain.bounds import INT64_MAX
from mlpipex.domain.models import Event
from mlpipex.server.deps import RegistryDep
from mlpipex.server.ui import render
from mlpipex.service.context import Registry
from mlpipex.service.events import audit

router = APIRouter(include_in_schema=False)

PAGE = 50
SCAN_BATCH = 500
SCAN_LIMIT = 10_000  # events read per page when filtering by actor


def events_page(
    reg: Registry, model: str | None, kind: str | None, actor: str | None, before: int | None
) -> tuple[list[Event], int | None]:
    """A page of events and the cursor (``before``) of the next page, None at the end.

    The service filters by model and kind; the actor filter is applied here over batches, at
    most SCAN_LIMIT events per page, so a rare actor pages through the log without stalling it.
    """
    if actor is None:
        got = audit.list_events(reg, model, None, kind, PAGE + 1, before, newest_first=True)
        return got[:PAGE], got[PAGE - 1].seq if len(got) > PAGE else None
    items: list[Event] = []
    cursor, scanned = before, 0
    while scanned < SCAN_LIMIT:
        batch = audit.list_events(reg, model, None, kind, SCAN_BATCH, cursor, newest_first=True)
        scanned += len(batch)
        for e in batch:
            if e.actor == actor:
                items.append(e)
                if len(items) == PAGE:
                    return items, e.seq
        if len(batch) < SCAN_BATCH:
            return items, None
        cursor = batch[-1].seq
    return items, cursor


@router.get("/ui/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    reg: RegistryDep,
    model: str = Query("", max_length=256),
    kind: str = Query("", max_length=64),
    actor: str = Query("", max_length=256),
    before: int | None = Query(None, ge=1, le=INT64_MAX),
) -> HTMLResponse:
    items, next_before = events_page(
        reg, model.strip() or None, kind or None, actor.strip() or None, before
    )
    return render.page(
        request,
        "audit.html",
        events=items,
        next=next_before,
        model=model,
        kind=kind,
        actor=actor,
        kinds=sorted(ev.KINDS),
    )


@router.get("/ui/audit/verify", response_class=HTMLResponse)
def verify(request: Request, reg: RegistryDep) -> HTMLResponse:
    template = "_chain.html" if request.headers.get("hx-request") else "chain.html"
    return render.page(request, template, report=audit.verify_chain(reg))
