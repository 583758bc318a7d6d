"""Delivering a group of notifications due at the same time.

One short transaction decides for every row (and claims the ones to send), the sends run with no
transaction open and no lock held (a slow mail server holds no connection), and one more
transaction records the results. Each row is re-read, so a job is safe to run twice and harmless
when stale: a row that was sent, canceled, deleted, moved later or claimed by another job is left
alone. If any send fails the job raises, procrastinate retries it with backoff, and the rows
already sent are skipped.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings
from studyhall.db.rls import cross_users
from studyhall.jobs import runtime
from studyhall.kit.mail import Attachment, Mail, build_message
from studyhall.kit.mail import deliver as deliver_mail
from studyhall.notifications.config import get_config
from studyhall.notifications.models import Notification, is_transactional
from studyhall.notifications.providers import sms
from studyhall.notifications.service import fresh_payloads, recipients
from studyhall.notifications.service.queueing import defer_deliveries
from studyhall.notifications.service.render import render
from studyhall.notifications.service.unsubscribe import unsubscribe_page_url, unsubscribe_url

log = logging.getLogger(__name__)

# Longer than any send can take (SMTP and SMS time out well within it).
CLAIM = timedelta(minutes=10)

_CONTACTS = text("SELECT id, email, name FROM users WHERE id = ANY(CAST(:ids AS uuid[]))")
_SENT = text(
    "UPDATE notifications SET status = 'sent', sent_at = now(), attempts = attempts + 1, "
    "last_error = NULL, claimed_until = NULL "
    "WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'pending'"
)
_FAILED = text(
    """
    UPDATE notifications AS n
    SET attempts = n.attempts + 1, last_error = f.error, claimed_until = NULL,
        status = CASE WHEN :final THEN 'failed' ELSE n.status END
    FROM unnest(CAST(:ids AS uuid[]), CAST(:errors AS text[])) AS f(id, error)
    WHERE n.id = f.id AND n.status = 'pending'
    """
)


class DeliveryFailed(Exception):
    """Some sends of the group failed; the job is retried for them."""


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


async def deliver(
    notification_ids: Sequence[uuid.UUID], *, final_attempt: bool
) -> dict[uuid.UUID, str]:
    """Deliver what is due; each id's outcome (``sent``, ``delayed``, ``canceled``, ``skipped``).

    Raises ``DeliveryFailed`` after recording the failures, so that the job is retried.
    """
    database = runtime().database
    async with database.transaction() as session:
        await cross_users(session)
        outcomes, outgoing = await _prepare(session, notification_ids, datetime.now(UTC))
    sent, failures = await _send_all(outgoing, runtime().settings)
    if sent or failures:
        async with database.transaction() as session:
            await cross_users(session)
            if sent:
                await session.execute(_SENT, {"ids": sent})
            if failures:
                await session.execute(
                    _FAILED,
                    {
                        "ids": [notification_id for notification_id, _ in failures],
                        "errors": [error for _, error in failures],
                        "final": final_attempt,
                    },
                )
    outcomes.update({notification_id: "sent" for notification_id in sent})
    if failures:
        raise DeliveryFailed(f"{len(failures)} of {len(outgoing)} sends failed: {failures[0][1]}")
    return outcomes


async def _send_all(
    outgoing: Sequence[Outgoing], settings: Settings
) -> tuple[list[uuid.UUID], list[tuple[uuid.UUID, str]]]:
    sent: list[uuid.UUID] = []
    failures: list[tuple[uuid.UUID, str]] = []
    for item in outgoing:
        try:
            await _send(item, settings)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.warning(
                "notification delivery failed",
                extra={"notification_id": str(item.notification_id), "error": error},
            )
            failures.append((item.notification_id, error))
        else:
            sent.append(item.notification_id)
    return sent, failures


async def _prepare(
    session: AsyncSession, notification_ids: Sequence[uuid.UUID], now: datetime
) -> tuple[dict[uuid.UUID, str], list[Outgoing]]:
    rows = (
        await session.scalars(
            select(Notification)
            .where(Notification.id.in_(list(notification_ids)))
            .order_by(Notification.id)
            .with_for_update()
        )
    ).all()
    outcomes = {notification_id: "skipped" for notification_id in notification_ids}
    due = [n for n in rows if _is_due(n, now)]
    people = {
        person.user_id: person
        for person in await recipients.by_ids(
            session, list({n.user_id for n in due}), list({n.type for n in due})
        )
    }
    contacts = {
        row.id: row
        for row in await session.execute(_CONTACTS, {"ids": list({n.user_id for n in due})})
    }
    await fresh_payloads.refresh(session, due)
    outgoing: list[Outgoing] = []
    delayed: list[tuple[uuid.UUID, datetime]] = []
    for notification in due:
        person = people.get(notification.user_id)
        outcome = _decide(notification, person, now)
        outcomes[notification.id] = outcome
        if outcome == "delayed":
            delayed.append((notification.id, notification.scheduled_for))
        elif outcome == "send" and person is not None:
            notification.claimed_until = now + CLAIM
            contact = contacts[notification.user_id]
            outgoing.append(_outgoing(notification, person, contact.email, contact.name))
    await session.flush()
    await defer_deliveries(session, delayed)
    return outcomes, outgoing


def _is_due(notification: Notification, now: datetime) -> bool:
    if notification.status != "pending" or notification.is_deleted:
        return False
    if notification.scheduled_for > now:
        return False  # moved later: the job deferred by the move delivers it
    # Claimed: another job is sending it right now.
    return notification.claimed_until is None or notification.claimed_until <= now


def _decide(notification: Notification, person: recipients.Recipient | None, now: datetime) -> str:
    """Change the row for every outcome but ``send``; the outcome."""
    reason = _refusal(notification, person)
    if reason is not None or person is None:
        notification.status = "canceled"
        notification.last_error = reason
        return "canceled"
    if not is_transactional(notification.type):
        release = person.deliverable_at(now, notification.channel, notification.urgent)
        if release > now:
            notification.scheduled_for = release
            return "delayed"
    if notification.channel == "inapp":
        notification.status = "sent"
        notification.sent_at = now
        return "sent"
    return "send"


def _refusal(notification: Notification, person: recipients.Recipient | None) -> str | None:
    if person is None:
        return "the recipient's account is closed"
    # Choices are read again at delivery: turning a type off also stops what is already queued.
    if notification.channel not in person.channels(notification.type, [notification.channel]):
        if notification.channel == "sms" and not person.phone:
            return "the recipient has no phone number"
        return "the recipient turned this off"
    return None


def _outgoing(
    notification: Notification, person: recipients.Recipient, email: str, name: str
) -> Outgoing:
    return Outgoing(
        notification_id=notification.id,
        user_id=notification.user_id,
        type=notification.type,
        channel=notification.channel,
        payload=dict(notification.payload),
        email=email,
        name=name,
        phone=person.phone,
        zone=person.zone,
    )


async def _send(outgoing: Outgoing, settings: Settings) -> None:
    unsubscribe = page = None
    if not is_transactional(outgoing.type):
        ids = (settings.secret_key.get_secret_value(), outgoing.user_id, outgoing.type)
        unsubscribe = unsubscribe_url(settings.base_url, *ids)
        page = unsubscribe_page_url(settings.base_url, *ids)
    payload = {key: value for key, value in outgoing.payload.items() if key != "attachments"}
    rendered = render(
        outgoing.type,
        payload,
        name=outgoing.name,
        zone=outgoing.zone,
        unsubscribe_url=page,
        base_url=settings.base_url,
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
