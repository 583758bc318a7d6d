"""Delivering one notification: decide in a short transaction, send outside it, record the result.

The job re-reads the row, so it is safe to run twice and harmless when stale: a row that was
sent, canceled, deleted or moved to a later time is left alone (rule 3). The send happens with no
transaction open and no lock held (rule 4).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings
from studyhall.jobs import runtime
from studyhall.kit.mail import Attachment, Mail, build_message
from studyhall.kit.mail import deliver as deliver_mail
from studyhall.notifications import recipients, sms
from studyhall.notifications.access import system_session
from studyhall.notifications.catalog import is_transactional
from studyhall.notifications.config import get_config
from studyhall.notifications.models import Notification
from studyhall.notifications.queueing import defer_deliveries
from studyhall.notifications.render import render
from studyhall.notifications.unsubscribe import unsubscribe_url

log = logging.getLogger(__name__)

_CONTACT = text("SELECT email, name FROM users WHERE id = :id")
# Longer than any send can take (SMTP and SMS time out well within it).
CLAIM = timedelta(minutes=10)


@dataclass(frozen=True)
class Outgoing:
    notification_id: uuid.UUID
    user_id: uuid.UUID
    type: str
    channel: str
    payload: dict[str, Any]
    email: str
    name: str
    phone: str | None
    zone: ZoneInfo


async def deliver(notification_id: uuid.UUID, *, final_attempt: bool) -> str:
    """Deliver if due; the outcome (``sent``, ``delayed``, ``canceled``, ``skipped``)."""
    database = runtime().database
    async with database.transaction() as session:
        await system_session(session)
        decided = await _prepare(session, notification_id, datetime.now(UTC))
    if isinstance(decided, str):
        return decided
    try:
        await _send(decided, runtime().settings)
    except Exception as exc:
        async with database.transaction() as session:
            await system_session(session)
            await _record_failure(session, notification_id, exc, final=final_attempt)
        raise
    async with database.transaction() as session:
        await system_session(session)
        await session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.status == "pending")
            .values(
                status="sent",
                sent_at=datetime.now(UTC),
                attempts=Notification.attempts + 1,
                last_error=None,
                claimed_until=None,
            )
        )
    return "sent"


async def _prepare(
    session: AsyncSession, notification_id: uuid.UUID, now: datetime
) -> Outgoing | str:
    notification = await session.scalar(
        select(Notification).where(Notification.id == notification_id).with_for_update()
    )
    if notification is None or notification.status != "pending" or notification.is_deleted:
        return "skipped"
    if notification.scheduled_for > now:
        return "skipped"  # moved later: the job deferred by the move delivers it
    if notification.claimed_until is not None and notification.claimed_until > now:
        return "skipped"  # another job is sending it right now
    found = await recipients.by_ids(session, [notification.user_id], notification.type)
    reason = _refusal(notification, found[0] if found else None)
    if reason is not None:
        notification.status = "canceled"
        notification.last_error = reason
        return "canceled"
    recipient = found[0]
    if not is_transactional(notification.type):
        release = recipient.deliverable_at(now, notification.channel, notification.urgent)
        if release > now:
            notification.scheduled_for = release
            await session.flush()
            await defer_deliveries(session, [(notification.id, release)])
            return "delayed"
    if notification.channel == "inapp":
        notification.status = "sent"
        notification.sent_at = now
        return "sent"
    contact = (await session.execute(_CONTACT, {"id": notification.user_id})).one()
    notification.claimed_until = now + CLAIM
    return Outgoing(
        notification_id=notification.id,
        user_id=notification.user_id,
        type=notification.type,
        channel=notification.channel,
        payload=dict(notification.payload),
        email=contact.email,
        name=contact.name,
        phone=recipient.phone,
        zone=recipient.zone,
    )


def _refusal(notification: Notification, recipient: recipients.Recipient | None) -> str | None:
    if recipient is None:
        return "the recipient's account is closed"
    # Choices are read again at delivery: turning a type off also stops what is already queued.
    if notification.channel not in recipient.channels(notification.type, [notification.channel]):
        if notification.channel == "sms" and not recipient.phone:
            return "the recipient has no phone number"
        return "the recipient turned this off"
    return None


async def _send(outgoing: Outgoing, settings: Settings) -> None:
    unsubscribe = None
    if not is_transactional(outgoing.type):
        unsubscribe = unsubscribe_url(
            settings.base_url,
            settings.secret_key.get_secret_value(),
            outgoing.user_id,
            outgoing.type,
        )
    payload = {key: value for key, value in outgoing.payload.items() if key != "attachments"}
    rendered = render(
        outgoing.type,
        payload,
        name=outgoing.name,
        zone=outgoing.zone,
        unsubscribe_url=unsubscribe,
    )
    if outgoing.channel == "sms":
        assert outgoing.phone is not None
        await sms.provider(get_config()).send(outgoing.phone, rendered.sms)
        return
    headers = {"X-Studyhall-Notification": str(outgoing.notification_id)}
    if unsubscribe is not None:
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail = Mail(
        to=outgoing.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers=headers,
        attachments=[
            Attachment.model_validate(item) for item in outgoing.payload.get("attachments", [])
        ],
    )
    await deliver_mail(build_message(mail, settings), settings)


async def _record_failure(
    session: AsyncSession, notification_id: uuid.UUID, exc: Exception, *, final: bool
) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    log.warning(
        "notification delivery failed",
        extra={"notification_id": str(notification_id), "error": error, "final": final},
    )
    values: dict[str, Any] = {
        "attempts": Notification.attempts + 1,
        "last_error": error,
        "claimed_until": None,
    }
    if final:
        values["status"] = "failed"
    await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == "pending")
        .values(**values)
    )
