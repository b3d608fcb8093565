"""Webhooks: every event kind can be subscribed to. Deliveries are queued with the event, in its
transaction, then sent by whichever server (or `mlpipex webhooks deliver`) claims them: signed
(HMAC-SHA256 over "<timestamp>.<body>", header X-MLPipeX-Signature), retried with exponential
backoff, and logged. Addresses that are not public are refused unless allowed (egress.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass

from mlpipex.domain import events as ev
from mlpipex.errors import Invalid, NotFound
from mlpipex.service.context import Registry
from mlpipex.service.events import egress
from mlpipex.store.events import log as events
from mlpipex.store.events import webhooks
from mlpipex.store.events.webhooks import DeliveryStatus, WebhookRecord

log = logging.getLogger("mlpipex.webhooks")
MAX_ATTEMPTS = 8
LEASE_MS = 60_000
TEST_KIND = "webhook_test"


@dataclass(frozen=True)
class Webhook:
    id: int
    url: str
    events: list[str]
    active: bool
    created_by: str
    created_at: int


@dataclass(frozen=True)
class Delivery:
    id: int
    event_seq: int
    status: DeliveryStatus
    attempts: int
    last_status: int | None
    last_error: str | None
    delivered_at: int | None


def check_url(url: str, allow_private: bool) -> None:
    """http(s) only; and unless allowed, every address the host resolves to is public (no
    server-side request forgery through a webhook; see service/events/egress.py)."""
    egress.pin(url, allow_private)


def _check_kinds(kinds: list[str]) -> list[str]:
    unknown = [k for k in kinds if k != "*" and k not in ev.KINDS]
    if unknown or not kinds:
        raise Invalid(
            f"unknown event kind(s) {', '.join(unknown) or '(none)'}",
            hint="kinds are * or " + ", ".join(sorted(ev.KINDS)),
        )
    return sorted(set(kinds))


def _webhook(r: WebhookRecord) -> Webhook:
    return Webhook(r.id, r.url, list(r.events), bool(r.active), r.created_by, r.created_at)


def create(reg: Registry, url: str, kinds: list[str], secret: str) -> Webhook:
    reg.require("admin")
    kinds = _check_kinds(kinds)  # before the URL: bad input never costs a DNS lookup
    check_url(url, reg.allow_private_webhooks)
    if len(secret) < 16:
        raise Invalid("a webhook secret needs at least 16 characters")
    sealed = reg.secrets.seal(secret)
    now = reg.clock()
    with reg.store.write() as conn:
        wid = webhooks.insert(conn, reg.workspace, url, kinds, sealed, reg.actor.name, now)
        reg.record(
            conn,
            time=now,
            kind=ev.WEBHOOK_CREATED,
            payload={"webhook": wid, "url": url, "events": kinds},
        )
    return Webhook(wid, url, kinds, True, reg.actor.name, now)


def list_webhooks(reg: Registry) -> list[Webhook]:
    reg.require("admin")
    with reg.store.read() as conn:
        return [_webhook(r) for r in webhooks.list_all(conn, reg.workspace)]


def delete(reg: Registry, webhook_id: int) -> None:
    reg.require("admin")
    now = reg.clock()
    with reg.store.write() as conn:
        if not webhooks.delete(conn, reg.workspace, webhook_id):
            raise NotFound(f"webhook {webhook_id} does not exist")
        reg.record(
            conn,
            time=now,
            kind=ev.WEBHOOK_DELETED,
            payload={"webhook": webhook_id},
        )


def deliveries(reg: Registry, webhook_id: int, limit: int = 50) -> list[Delivery]:
    reg.require("admin")
    with reg.store.read() as conn:
        if webhooks.get(conn, webhook_id, reg.workspace) is None:
            raise NotFound(f"webhook {webhook_id} does not exist")
        return [
            Delivery(
                r.id, r.event_seq, r.status, r.attempts, r.last_status, r.last_error, r.delivered_at
            )
            for r in webhooks.deliveries(conn, webhook_id, limit)
        ]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _send(url: str, secret: str, kind: str, delivery: str, body: bytes, allow_private: bool) -> int:
    # Checked again, and the request goes to the address checked now: the name may resolve
    # elsewhere since the webhook was created, and again between a check and a connect.
    pinned = egress.pin(url, allow_private)
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-MLPipeX-Event": kind,
        "X-MLPipeX-Delivery": delivery,
        "X-MLPipeX-Timestamp": ts,
        "X-MLPipeX-Signature": signature(secret, ts, body),
    }
    return egress.post(pinned, body, headers, timeout=10.0)


def test(reg: Registry, webhook_id: int) -> int:
    """Send a test event now; returns the receiver's HTTP status."""
    import httpx

    reg.require("admin")
    with reg.store.read() as conn:
        row = webhooks.get(conn, webhook_id, reg.workspace)
    if row is None:
        raise NotFound(f"webhook {webhook_id} does not exist")
    body = json.dumps({"kind": TEST_KIND, "webhook": webhook_id, "time": reg.clock()}).encode()
    try:
        return _send(
            row.url,
            reg.secrets.open(row.secret_enc),
            TEST_KIND,
            "test",
            body,
            reg.allow_private_webhooks,
        )
    except httpx.HTTPError as exc:
        raise Invalid(f"webhook {webhook_id}: {type(exc).__name__}: {exc}") from None


def deliver_due(reg: Registry, limit: int = 50) -> int:
    """Send what is due; returns how many were delivered. Claims are leases, so a server that
    dies mid-send leaves its deliveries to be retried by another after LEASE_MS."""
    import httpx

    now = reg.clock()
    with reg.store.write() as conn:
        claimed = webhooks.claim_due(conn, now, limit)
        for d in claimed:
            webhooks.lease(conn, d.id, now + LEASE_MS)
        hooks = {d.webhook_id: webhooks.get(conn, d.webhook_id) for d in claimed}
        # each event is read from the chain of its webhook's workspace
        seqs: dict[str, list[int]] = {}
        for d in claimed:
            if (hook := hooks[d.webhook_id]) is not None:
                seqs.setdefault(hook.workspace, []).append(d.event_seq)
        evs = {(ws, e.seq): e for ws, s in seqs.items() for e in events.query_seqs(conn, ws, s)}
    sent = 0
    for d in claimed:
        hook = hooks[d.webhook_id]
        event = evs.get((hook.workspace, d.event_seq)) if hook is not None else None
        if hook is None or event is None:
            continue
        body = json.dumps(
            {
                "workspace": hook.workspace,
                "seq": event.seq,
                "time": event.time,
                "actor": event.actor,
                "kind": event.kind,
                "model": event.model,
                "version": event.version,
                "reason": event.reason,
                "payload": event.payload,
                "hash": event.hash,
            },
            sort_keys=True,
        ).encode()
        status: int | None = None
        error: str | None = None
        try:
            status = _send(
                hook.url,
                reg.secrets.open(hook.secret_enc),
                event.kind,
                str(d.id),
                body,
                reg.allow_private_webhooks,
            )
        except (httpx.HTTPError, Invalid) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        ok = status is not None and 200 <= status < 300
        attempts = d.attempts + 1
        done = reg.clock()
        delivered_at = retry_at = None
        if ok:
            outcome, delivered_at = DeliveryStatus.DELIVERED, done
            sent += 1
        elif attempts >= MAX_ATTEMPTS:
            outcome = DeliveryStatus.FAILED
        else:
            outcome, retry_at = DeliveryStatus.PENDING, done + 1000 * min(3600, 2**attempts)
        with reg.store.write() as conn:
            webhooks.attempted(
                conn,
                d.id,
                attempts=attempts,
                status=outcome,
                last_status=status,
                last_error=error,
                delivered_at=delivered_at,
                next_attempt_at=retry_at,
            )
        log.info(
            "webhook %s delivery %s of event %s: %s",
            hook.id,
            d.id,
            event.seq,
            status if status is not None else error,
        )
    return sent
