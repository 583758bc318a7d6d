"""HTTP for an endpoint's delivery log (admins only): deliveries, their attempts, redelivery."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from studyhall.accounts.deps import Admin
from studyhall.db.deps import Session
from studyhall.integrations.jobs import schedule_attempt
from studyhall.integrations.models import WebhookAttempt, WebhookDelivery
from studyhall.integrations.schemas import (
    DeliveryStatus,
    WebhookAttemptPage,
    WebhookAttemptRead,
    WebhookDeliveryPage,
    WebhookDeliveryRead,
)
from studyhall.integrations.service import history
from studyhall.kit.paging import PageQuery

router = APIRouter()

DELIVERIES = "/admin/webhook-endpoints/{endpoint_id}/deliveries"


@router.get(DELIVERIES, summary="List an endpoint's deliveries, newest first")
async def webhook_deliveries_list(
    endpoint_id: uuid.UUID,
    admin: Admin,
    session: Session,
    page: PageQuery,
    status_filter: Annotated[
        DeliveryStatus | None,
        Query(alias="status", description="Only deliveries in this state."),
    ] = None,
) -> WebhookDeliveryPage:
    """Each message queued for the endpoint: its event, body, state, attempts so far and the
    last answer (status code or error)."""
    rows = await history.deliveries(
        session, endpoint_id, page.key(datetime, uuid.UUID), page.limit + 1, status_filter
    )
    items, cursor = page.of(rows, _delivery_key)
    return WebhookDeliveryPage(
        items=[WebhookDeliveryRead.model_validate(row) for row in items], next_cursor=cursor
    )


@router.get(DELIVERIES + "/{delivery_id}", summary="One delivery of an endpoint")
async def webhook_delivery_get(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, admin: Admin, session: Session
) -> WebhookDeliveryRead:
    """The delivery's body, state and last answer."""
    return WebhookDeliveryRead.model_validate(
        await history.delivery(session, endpoint_id, delivery_id)
    )


@router.get(DELIVERIES + "/{delivery_id}/attempts", summary="List a delivery's attempts")
async def webhook_attempts_list(
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    admin: Admin,
    session: Session,
    page: PageQuery,
) -> WebhookAttemptPage:
    """Every HTTP attempt, first to last: when, how long, the status code or the error, and
    the start of the receiver's answer."""
    rows = await history.attempts(
        session, endpoint_id, delivery_id, page.key(int, uuid.UUID), page.limit + 1
    )
    items, cursor = page.of(rows, _attempt_key)
    return WebhookAttemptPage(
        items=[WebhookAttemptRead.model_validate(row) for row in items], next_cursor=cursor
    )


@router.post(
    DELIVERIES + "/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a delivery again now",
)
async def webhook_delivery_redeliver(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, admin: Admin, session: Session
) -> WebhookDeliveryRead:
    """Queues the same message (same `webhook-id`, so the receiver can tell it is a repeat)
    for an attempt now, with a fresh retry schedule; delivered or given up alike."""
    delivery = await history.redeliver(session, admin.id, endpoint_id, delivery_id)
    await schedule_attempt(session, delivery.id)
    return WebhookDeliveryRead.model_validate(delivery)


def _delivery_key(delivery: WebhookDelivery) -> tuple[datetime, uuid.UUID]:
    return delivery.created_at, delivery.id


def _attempt_key(attempt: WebhookAttempt) -> tuple[int, uuid.UUID]:
    return attempt.number, attempt.id
