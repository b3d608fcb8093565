"""Queries over webhooks and their deliveries."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.store import schema as t


def insert(
    conn: Connection, url: str, kinds: list[str], secret_enc: str, actor: str, now: int
) -> int:
    return int(
        conn.execute(
            sa.insert(t.webhooks)
            .values(
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


def get(conn: Connection, webhook_id: int) -> sa.Row[Any] | None:
    return conn.execute(sa.select(t.webhooks).where(t.webhooks.c.id == webhook_id)).first()


def list_all(conn: Connection) -> list[sa.Row[Any]]:
    return list(conn.execute(sa.select(t.webhooks).order_by(t.webhooks.c.id)))


def delete(conn: Connection, webhook_id: int) -> bool:
    return bool(conn.execute(sa.delete(t.webhooks).where(t.webhooks.c.id == webhook_id)).rowcount)


def enqueue(conn: Connection, event_seq: int, kind: str, now: int) -> None:
    """One pending delivery per active webhook subscribed to kind (or to every kind)."""
    rows = conn.execute(
        sa.select(t.webhooks.c.id, t.webhooks.c.events).where(t.webhooks.c.active.is_(True))
    ).all()
    due = [r.id for r in rows if "*" in r.events or kind in r.events]
    if due:
        conn.execute(
            sa.insert(t.webhook_deliveries),
            [
                {
                    "webhook_id": w,
                    "event_seq": event_seq,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for w in due
            ],
        )


def claim_due(conn: Connection, now: int, limit: int) -> list[sa.Row[Any]]:
    """Pending deliveries whose time has come; on PostgreSQL rows another server holds are
    skipped, so replicas never send one delivery twice at once."""
    q = (
        sa.select(t.webhook_deliveries)
        .where(
            t.webhook_deliveries.c.status == "pending",
            t.webhook_deliveries.c.next_attempt_at <= now,
        )
        .order_by(t.webhook_deliveries.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(conn.execute(q))


def record(conn: Connection, delivery_id: int, **values: Any) -> None:
    conn.execute(
        sa.update(t.webhook_deliveries)
        .where(t.webhook_deliveries.c.id == delivery_id)
        .values(**values)
    )


def deliveries(conn: Connection, webhook_id: int, limit: int) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(t.webhook_deliveries)
            .where(t.webhook_deliveries.c.webhook_id == webhook_id)
            .order_by(t.webhook_deliveries.c.id.desc())
            .limit(limit)
        )
    )
