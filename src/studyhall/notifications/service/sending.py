"""What other domains call to notify someone, inside their own transaction.

``notify`` writes one row per channel and defers its delivery job in the caller's transaction: if
the caller rolls back, neither the row nor the job exists. Reminders are rows keyed by
``booking_reminder:<booking>:<offset>:<channel>`` so scheduling twice, moving and dropping act
on the same rows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.kit.errors import Unprocessable
from studyhall.kit.mail import Attachment
from studyhall.kit.times import json_default, rfc3339
from studyhall.notifications.config import get_config, parse_offset
from studyhall.notifications.models import CHANNELS, TYPES, Notification
from studyhall.notifications.service import recipients as recipients_
from studyhall.notifications.service.queueing import defer_deliveries
from studyhall.notifications.service.recipients import Recipient

REMINDER = "booking_reminder"


class Inserted(NamedTuple):
    id: uuid.UUID
    user_id: uuid.UUID


@dataclass
class Planned:
    """One row to insert."""

    user_id: uuid.UUID
    type: str
    channel: str
    payload: dict[str, Any]
    scheduled_for: datetime
    urgent: bool = False
    dedupe_key: str | None = None
    entity: str | None = None
    entity_id: uuid.UUID | None = None
    status: str = "pending"
    sent_at: datetime | None = None


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _check(type_: str, channels: Sequence[str] | None) -> None:
    if type_ not in TYPES:
        raise Unprocessable(f"'{type_}' is not a notification type.", code="unknown_type")
    for channel in channels or ():
        if channel not in CHANNELS:
            raise Unprocessable(f"'{channel}' is not a channel.", code="unknown_channel")


def plan_for(
    recipient: Recipient,
    type_: str,
    payload: dict[str, Any],
    *,
    channels: Sequence[str] | None,
    urgent: bool,
    due: datetime,
    now: datetime,
    dedupe_key: str | None = None,
    entity: str | None = None,
    entity_id: uuid.UUID | None = None,
    attachments: Sequence[Attachment] = (),
) -> list[Planned]:
    planned = []
    for channel in recipient.channels(type_, channels):
        at = recipient.deliverable_at(max(due, now), channel, urgent)
        body = dict(payload)
        if channel == "email" and attachments:
            body["attachments"] = [attachment.model_dump() for attachment in attachments]
        # An in-app notification that is due is delivered by being written; nothing to wait for.
        shown_now = channel == "inapp" and at <= now
        planned.append(
            Planned(
                user_id=recipient.user_id,
                type=type_,
                channel=channel,
                payload=body,
                scheduled_for=at,
                urgent=urgent,
                dedupe_key=None if dedupe_key is None else f"{dedupe_key}:{channel}",
                entity=entity,
                entity_id=entity_id,
                status="sent" if shown_now else "pending",
                sent_at=now if shown_now else None,
            )
        )
    return planned


async def insert_planned(
    session: AsyncSession,
    planned: Sequence[Planned],
    on_conflict: Literal["skip", "reschedule"] = "skip",
) -> list[Inserted]:
    """Insert the rows and defer a job for each that waits for delivery; what was written."""
    ids: list[Inserted] = []
    # Chunks keep a statement under PostgreSQL's 65,535 bind parameters.
    for start in range(0, len(planned), _CHUNK):
        ids += await _insert_chunk(session, planned[start : start + _CHUNK], on_conflict)
    return ids


_CHUNK = 5000

# Rows travel as one array per column: one statement, compiled once, whatever the batch size.
# The rows may be another person's (a tutor's request notifies the student), so they are written
# by a narrow database function that does only that (migration ``0024_rls_wall``); with
# ``reschedule``, scheduling the same booking at the same time again changes nothing.
_INSERT = text(
    """
    SELECT id, user_id, status, scheduled_for FROM studyhall_notifications_insert(
        CAST(:user_ids AS uuid[]), CAST(:types AS text[]), CAST(:channels AS text[]),
        CAST(:payloads AS jsonb[]), CAST(:scheduled AS timestamptz[]), CAST(:urgent AS boolean[]),
        CAST(:dedupe_keys AS text[]), CAST(:entities AS text[]), CAST(:entity_ids AS uuid[]),
        CAST(:statuses AS text[]), CAST(:sent_at AS timestamptz[]), :reschedule
    )
    """
)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _columns(planned: Sequence[Planned]) -> dict[str, list[Any]]:
    return {
        "user_ids": [str(p.user_id) for p in planned],
        "types": [p.type for p in planned],
        "channels": [p.channel for p in planned],
        "payloads": [json.dumps(p.payload, default=json_default) for p in planned],
        "scheduled": [p.scheduled_for.isoformat() for p in planned],
        "urgent": [p.urgent for p in planned],
        "dedupe_keys": [p.dedupe_key for p in planned],
        "entities": [p.entity for p in planned],
        "entity_ids": [_text(p.entity_id) for p in planned],
        "statuses": [p.status for p in planned],
        "sent_at": [None if p.sent_at is None else p.sent_at.isoformat() for p in planned],
    }


async def _insert_chunk(
    session: AsyncSession, planned: Sequence[Planned], on_conflict: Literal["skip", "reschedule"]
) -> list[Inserted]:
    values = {**_columns(planned), "reschedule": on_conflict == "reschedule"}
    rows = (await session.execute(_INSERT, values)).all()
    await defer_deliveries(
        session, [(row.id, row.scheduled_for) for row in rows if row.status == "pending"]
    )
    return [Inserted(row.id, row.user_id) for row in rows]


async def notify(
    session: AsyncSession,
    user_id: uuid.UUID,
    type: str,
    payload: dict[str, Any],
    channels: Sequence[str] | None = None,
    urgent: bool = False,
    *,
    entity: str | None = None,
    entity_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
    attachments: Sequence[Attachment] = (),
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """Notify ``user_id`` of ``type`` on every channel they allow (of ``channels``, if given).

    Returns the ids of the rows created: none when the user turned every channel off, has no
    active account, or already has a row with the same ``dedupe_key``. ``attachments`` (an
    ``.ics``) go with the email. ``urgent`` skips quiet hours.
    """
    return await notify_each(
        session,
        type,
        [Notice(user_id, payload, attachments)],
        channels,
        urgent,
        entity=entity,
        entity_id=entity_id,
        dedupe_key=dedupe_key,
        now=now,
    )


@dataclass(frozen=True)
class Notice:
    """One person's own part of a notification that goes to several at once."""

    user_id: uuid.UUID
    payload: dict[str, Any]
    attachments: Sequence[Attachment] = ()


async def notify_each(
    session: AsyncSession,
    type: str,
    notices: Sequence[Notice],
    channels: Sequence[str] | None = None,
    urgent: bool = False,
    *,
    entity: str | None = None,
    entity_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """``notify`` for several people (one notice each) at the cost of one: their choices are
    read, their rows written and the deliveries deferred in one statement each, whatever their
    number (both parties of a booking, in the booking's transaction)."""
    _check(type, channels)
    moment = _now(now)
    by_user = {notice.user_id: notice for notice in notices}
    if len(by_user) != len(notices):
        raise ValueError("notify_each takes one notice per person")
    found = await recipients_.for_notifying(session, list(by_user), [type])
    planned = [
        item
        for recipient in found
        for item in plan_for(
            recipient,
            type,
            by_user[recipient.user_id].payload,
            channels=channels,
            urgent=urgent,
            due=moment,
            now=moment,
            dedupe_key=dedupe_key,
            entity=entity,
            entity_id=entity_id,
            attachments=by_user[recipient.user_id].attachments,
        )
    ]
    return [row.id for row in await insert_planned(session, planned)]


def _reminder_key(booking_id: uuid.UUID, label: str) -> str:
    return f"{REMINDER}:{booking_id}:{label}"


async def schedule_booking_reminders(
    session: AsyncSession,
    booking_id: uuid.UUID,
    user_ids: Sequence[uuid.UUID],
    starts_at: datetime,
    payload: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """A reminder per user, offset (``reminder_offsets``) and allowed channel, before the start.

    Offsets already past are skipped. Calling again for the same booking and time adds nothing.
    """
    moment = _now(now)
    offsets = [parse_offset(label) for label in get_config().reminder_offsets]
    base = {**(payload or {}), "booking_id": str(booking_id), "starts_at": rfc3339(starts_at)}
    planned = []
    for recipient in await recipients_.for_notifying(session, user_ids, [REMINDER]):
        for offset in offsets:
            due = offset.before(starts_at, recipient.zone)
            if due <= moment:
                continue
            planned += plan_for(
                recipient,
                REMINDER,
                {**base, "offset": offset.label},
                channels=None,
                urgent=False,
                due=due,
                now=moment,
                dedupe_key=_reminder_key(booking_id, offset.label),
                entity="booking",
                entity_id=booking_id,
            )
    inserted = await insert_planned(session, planned, on_conflict="reschedule")
    return [row.id for row in inserted]


def _reminders_of(booking_id: uuid.UUID) -> Any:
    return and_(
        Notification.entity == "booking",
        Notification.entity_id == booking_id,
        Notification.type == REMINDER,
        Notification.deleted_at.is_(None),
    )


async def move_booking_reminders(
    session: AsyncSession,
    booking_id: uuid.UUID,
    new_starts_at: datetime,
    *,
    now: datetime | None = None,
) -> int:
    """Re-time every live reminder of the booking to ``new_starts_at``; the number moved.

    A reminder that already went out goes out again before the new time; one whose new time has
    already passed is canceled. Either party of the booking may do this for both: row level
    security lets a party read and update a booking's reminders.
    """
    moment = _now(now)
    reminders = (
        await session.scalars(
            select(Notification)
            .where(_reminders_of(booking_id), Notification.status != "canceled")
            .order_by(Notification.id)
            .with_for_update()
        )
    ).all()
    people = {
        recipient.user_id: recipient
        for recipient in await recipients_.for_notifying(
            session, list({n.user_id for n in reminders}), [REMINDER]
        )
    }
    deliveries = []
    for notification in reminders:
        recipient = people.get(notification.user_id)
        if recipient is None:
            notification.status = "canceled"
            continue
        due = parse_offset(notification.payload["offset"]).before(new_starts_at, recipient.zone)
        notification.payload = {**notification.payload, "starts_at": rfc3339(new_starts_at)}
        if due <= moment:
            if notification.status == "pending":
                notification.status = "canceled"
            continue
        notification.scheduled_for = recipient.deliverable_at(
            due, notification.channel, notification.urgent
        )
        notification.status = "pending"
        notification.attempts = 0
        notification.last_error = None
        notification.sent_at = None
        notification.read_at = None
        deliveries.append((notification.id, notification.scheduled_for))
    await session.flush()
    await defer_deliveries(session, deliveries)
    return len(deliveries)


async def drop_booking_reminders(session: AsyncSession, booking_id: uuid.UUID) -> int:
    """Cancel every reminder of the booking that has not gone out; the number canceled."""
    result = await session.execute(
        update(Notification)
        .where(_reminders_of(booking_id), Notification.status == "pending")
        .values(status="canceled", updated_at=func.now())
        .returning(Notification.id)
    )
    return len(result.all())


_REARM = text("SELECT studyhall_notifications_rearm(:user_id, CAST(:keys AS text[]))")


def _credit_low_keys() -> list[str]:
    return [f"credit_low:{channel}" for channel in CHANNELS]


async def credit_low(
    session: AsyncSession,
    user_id: uuid.UUID,
    balance: int,
    *,
    now: datetime | None = None,
    rearm_only: bool = False,
) -> list[uuid.UUID]:
    """Call after every change of ``user_id``'s credit balance.

    Falling below ``credit_low_threshold`` notifies once; later debits while still low add
    nothing (the dedupe key is taken), and rising back to the threshold re-arms it.
    ``rearm_only`` is for credits: a top-up that still leaves the balance low is not news.
    """
    threshold = get_config().credit_low_threshold
    if rearm_only and balance < threshold:
        return []
    if balance >= threshold:
        # The balance may be another person's (a tutor's cancellation refunds the student).
        await session.execute(_REARM, {"user_id": user_id, "keys": _credit_low_keys()})
        return []
    return await notify(
        session,
        user_id,
        "credit_low",
        {"balance": balance, "threshold": threshold},
        dedupe_key="credit_low",
        now=now,
    )
