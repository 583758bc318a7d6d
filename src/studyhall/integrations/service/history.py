"""The delivery log of an endpoint: its deliveries, newest first, each with its attempts; and a
manual redelivery, which queues the same message (same ``webhook-id``) again at once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit import service as audit
from studyhall.integrations.models import WebhookAttempt, WebhookDelivery
from studyhall.integrations.service.endpoints import ENTITY, get
from studyhall.kit.cursors import CursorValue
from studyhall.kit.errors import Conflict, NotFound
from studyhall.kit.paging import after


async def deliveries(
    session: AsyncSession,
    endpoint_id: uuid.UUID,
    key: Sequence[CursorValue] | None,
    limit: int,
    status: str | None = None,
) -> list[WebhookDelivery]:
    """An endpoint's deliveries, newest first, up to ``limit`` after the cursor's ``key``."""
    await get(session, endpoint_id)
    order = (WebhookDelivery.created_at.expression, WebhookDelivery.id.expression)
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(*(column.desc() for column in order))
        .limit(limit)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    condition = after(order, key, descending=True)
    if condition is not None:
        query = query.where(condition)
    return list(await session.scalars(query))


async def delivery(
    session: AsyncSession, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    found = await session.get(WebhookDelivery, delivery_id)
    if found is None or found.endpoint_id != endpoint_id:
        raise NotFound("No such delivery for this endpoint.", code="webhook_delivery_not_found")
    return found


async def attempts(
    session: AsyncSession,
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    key: Sequence[CursorValue] | None,
    limit: int,
) -> list[WebhookAttempt]:
    """A delivery's attempts, first to last."""
    await delivery(session, endpoint_id, delivery_id)
    order = (WebhookAttempt.number.expression, WebhookAttempt.id.expression)
    query = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(*order)
        .limit(limit)
    )
    condition = after(order, key)
    if condition is not None:
        query = query.where(condition)
    return list(await session.scalars(query))


async def redeliver(
    session: AsyncSession, actor: uuid.UUID, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Queue a delivery again now, with a fresh retry schedule. The caller enqueues its job."""
    endpoint = await get(session, endpoint_id)
    if not endpoint.enabled:
        raise Conflict(
            "This endpoint is disabled: enable it before redelivering.",
            code="webhook_endpoint_disabled",
        )
    found = await delivery(session, endpoint_id, delivery_id)
    found.status = "pending"
    found.next_attempt_at = datetime.now(UTC)
    found.failed_attempts = 0
    found.delivered_at = None
    await session.flush()
    await session.refresh(found)
    await audit.record(
        session, actor, f"{ENTITY}.redeliver", ENTITY, endpoint_id, {"delivery_id": delivery_id}
    )
    return found


async def due(session: AsyncSession, overdue_by: timedelta, limit: int) -> list[uuid.UUID]:
    """Pending deliveries whose attempt is more than ``overdue_by`` late: their job was lost
    (a worker died mid-attempt, or a queue was purged)."""
    cutoff = datetime.now(UTC) - overdue_by
    return list(
        await session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at < cutoff)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
    )


async def purge(session: AsyncSession, older_than: timedelta) -> int:
    """Delete settled deliveries (and their attempts) older than ``older_than``."""
    cutoff = datetime.now(UTC) - older_than
    result = await session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.status != "pending", WebhookDelivery.created_at < cutoff)
        .returning(WebhookDelivery.id)
    )
    return len(result.all())
