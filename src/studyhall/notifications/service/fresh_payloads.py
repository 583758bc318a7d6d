"""Payload values read again when a notification goes out.

A reminder is written when a booking is confirmed, days before it is sent; what it names (the
meeting link, above all) may change in between, e.g. when Google Meet replaces the room the
booking was confirmed with. A domain that owns such values registers a reader for a notification
type; delivery calls it for each row it is about to send or show and merges the answer into the
row's payload, so the e-mail and the in-app entry carry the values of the moment they go out.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.notifications.models import Notification

# (session, the notification's entity_id) -> the payload keys to replace; None: leave it alone.
PayloadReader = Callable[[AsyncSession, uuid.UUID], Awaitable[dict[str, Any] | None]]

_readers: dict[str, PayloadReader] = {}


def read_payload_at_send(notification_type: str, reader: PayloadReader) -> None:
    """Register ``reader`` for ``notification_type`` (once per type; the last one wins)."""
    _readers[notification_type] = reader


async def refresh(session: AsyncSession, notifications: Sequence[Notification]) -> None:
    """Merge the registered readers' current values into each row's payload, reading each
    (type, entity) once. Runs in the delivery transaction that holds the rows' locks."""
    fresh: dict[tuple[str, uuid.UUID], dict[str, Any] | None] = {}
    for notification in notifications:
        reader = _readers.get(notification.type)
        if reader is None or notification.entity_id is None:
            continue
        key = (notification.type, notification.entity_id)
        if key not in fresh:
            fresh[key] = await reader(session, notification.entity_id)
        changes = fresh[key]
        if changes and any(notification.payload.get(k) != v for k, v in changes.items()):
            notification.payload = {**notification.payload, **changes}
