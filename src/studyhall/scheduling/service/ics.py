"""ICS calendars: a private, revocable feed per user, and one ``.ics`` per booking.

Each booking is one VEVENT with a stable UID; SEQUENCE is the booking's ``sequence`` (bumped
on every change the attendee should see), and canceled/declined bookings stay in the feed as
``STATUS:CANCELLED`` so calendar apps remove them instead of keeping a ghost event.

The ``.ics`` attached to booking e-mails is an iTIP message (RFC 5546): ``METHOD:REQUEST``
on confirmation, ``METHOD:CANCEL`` on cancellation, with the tutor as ORGANIZER and the
student as ATTENDEE, the same UID and the booking's SEQUENCE, so mail clients add the event,
update it when a later request carries a higher SEQUENCE, and remove it on the cancel.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.db.rls import cross_users
from studyhall.kit.errors import NotFound
from studyhall.scheduling.models import CalendarFeed
from studyhall.scheduling.service.clock import utcnow, zone_or_422

PRODID = "-//Studyhall//Tutoring//EN"
FEED_PAST_DAYS = 90

_STATUS = {
    "pending_payment": "TENTATIVE",
    "pending_approval": "TENTATIVE",
    "confirmed": "CONFIRMED",
    "completed": "CONFIRMED",
    "canceled": "CANCELLED",
    "declined": "CANCELLED",
    "refunded": "CANCELLED",
}

_DETAILS = """
    SELECT id, status, start_at, end_at, offering_title, offering_description, tutor_name,
           student_name, tutor_id, student_id, join_link, sequence, created_at, last_changed_at
    FROM booking_details
"""


def feed_url(settings: Settings, token: str) -> str:
    """The address a calendar app subscribes to (secret: whoever has it reads the feed)."""
    return f"{str(settings.base_url).rstrip('/')}/api/v1/calendar/feeds/{token}.ics"


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create_feed(session: AsyncSession, user: User) -> str:
    """A new secret feed token; any earlier feed of the user stops working."""
    now = utcnow()
    await session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(user_id=user.id, token_hash=_hash(token))
    session.add(feed)
    await session.flush()
    await audit.record(session, user.id, "calendar_feed.create", "calendar_feed", feed.id)
    return token


async def revoke_feeds(session: AsyncSession, user: User) -> int:
    result = await session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(CalendarFeed.id)
    )
    revoked = list(result.scalars())
    for feed_id in revoked:
        await audit.record(session, user.id, "calendar_feed.revoke", "calendar_feed", feed_id)
    return len(revoked)


async def feed_owner(session: AsyncSession, token: str) -> User:
    """The feed's owner. The secret token is the authorization, so this unit of work crosses
    users (declared here, at its start); the feed then reads only the owner's bookings."""
    await cross_users(session)
    feed = await session.scalar(
        select(CalendarFeed).where(
            CalendarFeed.token_hash == _hash(token), CalendarFeed.revoked_at.is_(None)
        )
    )
    user = None if feed is None else await session.get(User, feed.user_id)
    if feed is None or user is None or user.deleted_at is not None:
        raise NotFound("No such calendar feed.", code="feed_not_found")
    feed.last_accessed_at = utcnow()
    await session.flush()
    return user


async def feed_ics(session: AsyncSession, user: User) -> bytes:
    rows = await session.execute(
        text(
            _DETAILS + " WHERE (tutor_id = :uid OR student_id = :uid) AND end_at >= :since "
            "ORDER BY start_at, id"
        ),
        {"uid": user.id, "since": utcnow() - timedelta(days=FEED_PAST_DAYS)},
    )
    return render(rows.all(), user)


async def booking_ics(session: AsyncSession, booking_id: uuid.UUID, user: User) -> bytes:
    rows = (await session.execute(text(_DETAILS + " WHERE id = :id"), {"id": booking_id})).all()
    return render(rows, user)


InviteMethod = Literal["REQUEST", "CANCEL"]


async def booking_invites(
    session: AsyncSession,
    booking_id: uuid.UUID,
    viewers: Sequence[User],
    method: InviteMethod,
) -> list[bytes]:
    """The iTIP ``.ics`` for a booking e-mail, one per viewer (in their own zone): add/update
    (REQUEST) or remove (CANCEL). The booking is read once for all of them."""
    rows = (await session.execute(text(_DETAILS + " WHERE id = :id"), {"id": booking_id})).all()
    parties: dict[uuid.UUID, User] = {}
    for row in rows:
        for user_id in (row.tutor_id, row.student_id):
            user = await session.get(User, user_id)
            if user is not None:
                parties[user_id] = user
    return [render(rows, viewer, method=method, parties=parties) for viewer in viewers]


def render(
    rows: Sequence[Any],
    viewer: User,
    *,
    method: InviteMethod | None = None,
    parties: dict[uuid.UUID, User] | None = None,
) -> bytes:
    zone = zone_or_422(viewer.timezone)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method is None:
        cal.add("x-wr-calname", "Studyhall bookings")
    else:
        cal.add("method", method)
    for row in rows:
        event = _event(row, viewer, zone)
        if method is not None:
            _add_itip_parties(event, row, parties or {}, method)
        cal.add_component(event)
    today = date.today()
    # VTIMEZONE for the viewer's zone, so clients show the wall times the viewer expects.
    cal.add_missing_timezones(
        first_date=today - timedelta(days=366), last_date=today.replace(year=today.year + 3)
    )
    return bytes(cal.to_ical())


def _event(row: Any, viewer: User, zone: ZoneInfo) -> icalendar.Event:
    other = row.student_name if viewer.id == row.tutor_id else row.tutor_name
    event = icalendar.Event()
    event.add("uid", f"{row.id}@studyhall")
    event.add("sequence", row.sequence)
    event.add("dtstamp", _utc(row.last_changed_at))
    event.add("created", _utc(row.created_at))
    event.add("last-modified", _utc(row.last_changed_at))
    event.add("dtstart", row.start_at.astimezone(zone))
    event.add("dtend", row.end_at.astimezone(zone))
    event.add("summary", f"{row.offering_title} with {other}")
    event.add("description", row.offering_description)
    event.add("status", _STATUS[row.status])
    if row.join_link:
        event.add("location", row.join_link)
        event.add("url", row.join_link)
    return event


def _add_itip_parties(
    event: icalendar.Event, row: Any, parties: dict[uuid.UUID, User], method: InviteMethod
) -> None:
    if method == "CANCEL":
        event["status"] = "CANCELLED"  # whatever the row says, this message removes it
    tutor, student = parties.get(row.tutor_id), parties.get(row.student_id)
    if tutor is not None:
        event.add("organizer", f"mailto:{tutor.email}", parameters={"CN": tutor.name})
    if student is not None:
        event.add(
            "attendee",
            f"mailto:{student.email}",
            parameters={
                "CN": student.name,
                "ROLE": "REQ-PARTICIPANT",
                # The booking is already agreed: nothing to answer.
                "PARTSTAT": "ACCEPTED" if method == "REQUEST" else "DECLINED",
                "RSVP": "FALSE",
            },
        )


def _utc(value: datetime) -> datetime:
    return value.astimezone(ZoneInfo("UTC"))


__all__ = [
    "booking_ics",
    "booking_invites",
    "create_feed",
    "feed_ics",
    "feed_owner",
    "revoke_feeds",
]
