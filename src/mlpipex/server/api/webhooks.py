"""/api/v1/webhooks: subscriptions, test sends and the delivery log (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from mlpipex.domain.api import WebhookCreate
from mlpipex.domain.bounds import RowId
from mlpipex.server.deps import RegistryDep
from mlpipex.service.events import webhooks

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


@router.get("")
def list_webhooks(reg: RegistryDep) -> list[webhooks.Webhook]:
    return webhooks.list_webhooks(reg)


@router.post("", status_code=201)
def create(reg: RegistryDep, body: WebhookCreate) -> webhooks.Webhook:
    return webhooks.create(reg, body.url, body.events, body.secret)


@router.delete("/{webhook_id}", status_code=204)
def delete(reg: RegistryDep, webhook_id: RowId) -> Response:
    webhooks.delete(reg, webhook_id)
    return Response(status_code=204)


@router.post("/{webhook_id}/test")
def test(reg: RegistryDep, webhook_id: RowId) -> dict[str, int]:
    return {"status": webhooks.test(reg, webhook_id)}


@router.get("/{webhook_id}/deliveries")
def deliveries(
    reg: RegistryDep, webhook_id: RowId, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[webhooks.Delivery]:
    return webhooks.deliveries(reg, webhook_id, limit)
