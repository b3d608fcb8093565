"""Queries over webhooks and their deliveries."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.store import schema as t


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at (or leased by a sender until then)
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last attempt


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    id: int
    workspace: str
    url: str
    events: tuple[str, ...]  # the kinds subscribed to; "*": every kind
    secret_enc: str  # sealed with the server's key
    active: bool
    created_by: str
    created_at: int


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: int
    webhook_id: int
    event_seq: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: int
    last_status: int | None
    last_error: str | None
    created_at: int
    delivered_at: int | None


def _webhook(r: sa.Row[Any]) -> WebhookRecord:
    return WebhookRecord(
        r.id,
        r.workspace,
        r.url,
        tuple(r.events),
        r.secret_enc,
        bool(r.active),
        r.created_by,
        r.created_at,
    )


def _delivery(r: sa.Row[Any]) -> DeliveryRecord:
    return DeliveryRecord(
        r.id,
        r.webhook_id,
        r.event_seq,
        DeliveryStatus(r.status),
        r.attempts,
        r.next_attempt_at,
        r.last_status,
        r.last_error,
        r.created_at,
        r.delivered_at,
    )


def insert(
    conn: Connection, ws: str, url: str, kinds: list[str], secret_enc: str, actor: str, now: int
) -> int:
    return int(
        conn.execute(
            sa.insert(t.webhooks)
            .values(
                workspace=ws,
                url=url,
                events=kinds,
                secret_enc=secret_enc,
                active=True,
                created_by=actor,
                created_at=now,
            )
            .returning(t.webhooks.c.id)
        ).scalar_one()
    )


def get(conn: Connection, webhook_id: int, ws: str | None = None) -> WebhookRecord | None:
    """The webhook; with ws, only when it belongs to that workspace."""
    q = sa.select(t.webhooks).where(t.webhooks.c.id == webhook_id)
    if ws is not None:
        q = q.where(t.webhooks.c.workspace == ws)
    r = conn.execute(q).first()
    return None if r is None else _webhook(r)


def list_all(conn: Connection, ws: str) -> list[WebhookRecord]:
    q = sa.select(t.webhooks).where(t.webhooks.c.workspace == ws).order_by(t.webhooks.c.id)
    return [_webhook(r) for r in conn.execute(q)]


def delete(conn: Connection, ws: str, webhook_id: int) -> bool:
    q = sa.delete(t.webhooks).where(t.webhooks.c.workspace == ws, t.webhooks.c.id == webhook_id)
    return bool(conn.execute(q).rowcount)


@functools.cache  # built once: every audit event asks it
def _subscribed() -> sa.Select[Any]:
    w = t.webhooks.c
    return sa.select(w.id, w.events).where(w.workspace == sa.bindparam("ws"), w.active.is_(True))


def enqueue(conn: Connection, ws: str, event_seq: int, kind: str, now: int) -> None:
    """One pending delivery per active webhook of the event's workspace subscribed to kind (or
    to every kind)."""
    rows = conn.execute(_subscribed(), {"ws": ws}).all()
    due = [r.id for r in rows if "*" in r.events or kind in r.events]
    if due:
        conn.execute(
            sa.insert(t.webhook_deliveries),
            [
                {
                    "webhook_id": w,
                    "event_seq": event_seq,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for w in due
            ],
        )


def claim_due(conn: Connection, now: int, limit: int) -> list[DeliveryRecord]:
    """Pending deliveries whose time has come; on PostgreSQL rows another server holds are
    skipped, so replicas never send one delivery twice at once."""
    q = (
        sa.select(t.webhook_deliveries)
        .where(
            t.webhook_deliveries.c.status == DeliveryStatus.PENDING,
            t.webhook_deliveries.c.next_attempt_at <= now,
        )
        .order_by(t.webhook_deliveries.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_delivery(r) for r in conn.execute(q)]


def lease(conn: Connection, delivery_id: int, until: int) -> None:
    """Hold a claimed delivery until then: a sender that dies leaves it due again after."""
    conn.execute(
        sa.update(t.webhook_deliveries)
        .where(t.webhook_deliveries.c.id == delivery_id)
        .values(next_attempt_at=until)
    )


def attempted(
    conn: Connection,
    delivery_id: int,
    *,
    attempts: int,
    status: DeliveryStatus,
    last_status: int | None,
    last_error: str | None,
    delivered_at: int | None = None,
    next_attempt_at: int | None = None,
) -> None:
    """The outcome of one attempt; next_attempt_at when it is to be retried."""
    values: dict[str, Any] = {
        "attempts": attempts,
        "status": status,
        "last_status": last_status,
        "last_error": last_error,
    }
    if delivered_at is not None:
        values["delivered_at"] = delivered_at
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    conn.execute(
        sa.update(t.webhook_deliveries)
        .where(t.webhook_deliveries.c.id == delivery_id)
        .values(**values)
    )


def deliveries(conn: Connection, webhook_id: int, limit: int) -> list[DeliveryRecord]:
    q = (
        sa.select(t.webhook_deliveries)
        .where(t.webhook_deliveries.c.webhook_id == webhook_id)
        .order_by(t.webhook_deliveries.c.id.desc())
        .limit(limit)
    )
    return [_delivery(r) for r in conn.execute(q)]
