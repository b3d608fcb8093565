"""Queries over transition requests and their approvals."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.models import Approval, RequestStatus, TransitionRequest
from mlpipex.store import schema as t
from mlpipex.store.registry.records import RequestRecord


def pending_request(conn: Connection, version_id: int, to_stage: str) -> RequestRecord | None:
    r = conn.execute(
        sa.select(t.transition_requests).where(
            t.transition_requests.c.version_id == version_id,
            t.transition_requests.c.to_stage == to_stage,
            t.transition_requests.c.status == RequestStatus.PENDING,
        )
    ).first()
    if r is None:
        return None
    return RequestRecord(r.id, r.version_id, r.to_stage, r.requested_by, r.reason, r.created_at)


def insert_request(
    conn: Connection, version_id: int, to_stage: str, actor: str, reason: str, now: int
) -> int:
    return int(
        conn.execute(
            sa.insert(t.transition_requests)
            .values(
                version_id=version_id,
                to_stage=to_stage,
                status=RequestStatus.PENDING,
                requested_by=actor,
                reason=reason,
                created_at=now,
            )
            .returning(t.transition_requests.c.id)
        ).scalar_one()
    )


def set_request_status(conn: Connection, request_id: int, status: RequestStatus) -> None:
    conn.execute(
        sa.update(t.transition_requests)
        .where(t.transition_requests.c.id == request_id)
        .values(status=status)
    )


def add_approval(conn: Connection, request_id: int, actor: str, comment: str, now: int) -> None:
    conn.execute(
        sa.insert(t.approvals).values(
            request_id=request_id, actor=actor, comment=comment, created_at=now
        )
    )


def requests_for(
    conn: Connection,
    model_id: int,
    *,
    status: str | None = None,  # a filter as the caller gives it: unknown matches nothing
    version_id: int | None = None,
) -> list[TransitionRequest]:
    q = (
        sa.select(t.transition_requests, t.versions.c.version, t.models.c.name)
        .join(t.versions, t.versions.c.id == t.transition_requests.c.version_id)
        .join(t.models, t.models.c.id == t.versions.c.model_id)
        .where(t.versions.c.model_id == model_id)
        .order_by(t.transition_requests.c.id)
    )
    if status:
        q = q.where(t.transition_requests.c.status == status)
    if version_id is not None:
        q = q.where(t.transition_requests.c.version_id == version_id)
    rows = conn.execute(q).all()
    if not rows:
        return []
    appr: dict[int, list[Approval]] = defaultdict(list)
    for a in conn.execute(
        sa.select(t.approvals)
        .where(t.approvals.c.request_id.in_([r.id for r in rows]))
        .order_by(t.approvals.c.created_at)
    ):
        appr[a.request_id].append(Approval(a.actor, a.comment, a.created_at))
    return [
        TransitionRequest(
            r.id,
            r.name,
            r.version,
            r.to_stage,
            RequestStatus(r.status),
            r.requested_by,
            r.reason,
            r.created_at,
            tuple(appr[r.id]),
        )
        for r in rows
    ]
