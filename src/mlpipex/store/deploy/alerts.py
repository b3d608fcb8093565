"""Queries over alerts: one open row per (endpoint, version, kind) episode."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.store import schema_monitor as t


class AlertState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    endpoint: str
    version: int
    kind: str  # drift | error_rate | latency | quality
    state: AlertState
    opened_at: int
    closed_at: int | None
    details: dict[str, Any]  # the finding, as the check that raised it reported it


def _alert(r: sa.Row[Any]) -> Alert:
    return Alert(
        id=r.id,
        endpoint=r.endpoint,
        version=r.version,
        kind=r.kind,
        state=AlertState(r.state),
        opened_at=r.opened_at,
        closed_at=r.closed_at,
        details=r.details,
    )


def open_alerts(conn: Connection, ws: str, endpoint: str | None = None) -> list[Alert]:
    q = (
        sa.select(t.alerts)
        .where(t.alerts.c.workspace == ws, t.alerts.c.state == AlertState.OPEN)
        .order_by(t.alerts.c.id)
    )
    if endpoint is not None:
        q = q.where(t.alerts.c.endpoint == endpoint)
    return [_alert(r) for r in conn.execute(q)]


def open_alert(conn: Connection, ws: str, endpoint: str, version: int, kind: str) -> Alert | None:
    """The episode open for (endpoint, version, kind) of the workspace, locked until the
    transaction ends."""
    row = conn.execute(
        sa.select(t.alerts)
        .where(
            t.alerts.c.workspace == ws,
            t.alerts.c.endpoint == endpoint,
            t.alerts.c.version == version,
            t.alerts.c.kind == kind,
            t.alerts.c.state == AlertState.OPEN,
        )
        .with_for_update()
    ).first()
    return None if row is None else _alert(row)


def raise_alert(
    conn: Connection,
    ws: str,
    endpoint: str,
    version: int,
    kind: str,
    details: dict[str, Any],
    now: int,
) -> None:
    conn.execute(
        sa.insert(t.alerts).values(
            workspace=ws,
            endpoint=endpoint,
            version=version,
            kind=kind,
            state=AlertState.OPEN,
            opened_at=now,
            details=details,
        )
    )


def close_alert(conn: Connection, alert_id: int, now: int) -> None:
    conn.execute(
        sa.update(t.alerts)
        .where(t.alerts.c.id == alert_id)
        .values(state=AlertState.CLOSED, closed_at=now)
    )
