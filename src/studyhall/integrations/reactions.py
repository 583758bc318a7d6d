"""Outgoing webhooks react to other domains' facts: each becomes an outbox row per subscribed
endpoint and a job to send it, in the emitting transaction (``service.outbox``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.billing.events import PaymentRefunded, PaymentSucceeded
from studyhall.courses.events import CourseCompleted, PurchaseCreated
from studyhall.integrations.jobs import schedule_attempt
from studyhall.integrations.service.outbox import write
from studyhall.kit import events
from studyhall.progress.events import AchievementUnlocked
from studyhall.scheduling.events import BookingCanceled, BookingCreated, BookingRescheduled

# The fact types published, by their webhook event type (``models.EVENT_TYPES``, in order).
PUBLISHED: dict[str, type] = {
    "booking.created": BookingCreated,
    "booking.canceled": BookingCanceled,
    "booking.rescheduled": BookingRescheduled,
    "payment.succeeded": PaymentSucceeded,
    "payment.refunded": PaymentRefunded,
    "purchase.created": PurchaseCreated,
    "course.completed": CourseCompleted,
    "achievement.unlocked": AchievementUnlocked,
}
_EVENT_TYPE = {fact: name for name, fact in PUBLISHED.items()}


async def publish(session: AsyncSession, fact: Any) -> None:
    for delivery_id in await write(session, _EVENT_TYPE[type(fact)], fact):
        await schedule_attempt(session, delivery_id)


for _fact in PUBLISHED.values():
    events.subscribe(_fact, publish)
