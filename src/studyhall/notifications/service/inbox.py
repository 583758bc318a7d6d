"""What a signed-in user does with their own notifications: the in-app inbox, preferences,
quiet hours, unsubscribing. Every query names the caller's id as well as relying on RLS."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.kit.errors import NotFound, Unprocessable
from studyhall.kit.paging import PageRequest, after
from studyhall.notifications.models import (
    CHANNELS,
    TYPES,
    Notification,
    NotificationPreference,
    NotificationSettings,
    default_enabled,
    is_transactional,
)
from studyhall.notifications.schemas import (
    NotificationPage,
    NotificationRead,
    PreferenceChange,
    PreferenceRead,
    QuietHours,
    QuietHoursUpdate,
)
from studyhall.notifications.service.render import render
from studyhall.notifications.service.timing import zone_of
from studyhall.notifications.service.unsubscribe import UnsubscribeClaim

VISIBLE = ("sent", "read")


def _inbox(user_id: uuid.UUID) -> Any:
    return and_(
        Notification.user_id == user_id,
        Notification.channel == "inapp",
        Notification.status.in_(VISIBLE),
        Notification.deleted_at.is_(None),
    )


def to_read(notification: Notification, user: User) -> NotificationRead:
    title = render(
        notification.type, notification.payload, name=user.name, zone=zone_of(user.timezone)
    ).subject
    return NotificationRead(
        id=notification.id,
        type=notification.type,
        channel=notification.channel,
        status=notification.status,
        title=title,
        payload=notification.payload,
        entity=notification.entity,
        entity_id=notification.entity_id,
        created_at=notification.created_at,
        sent_at=notification.sent_at,
        read_at=notification.read_at,
    )


async def list_inbox(
    session: AsyncSession, user: User, *, unread_only: bool, page: PageRequest
) -> NotificationPage:
    """The caller's in-app inbox, newest first, one page (keyset on created_at and id)."""
    query = select(Notification).where(_inbox(user.id))
    if unread_only:
        query = query.where(Notification.status == "sent")
    columns: list[ColumnElement[Any]] = [
        Notification.created_at.expression,
        Notification.id.expression,
    ]
    condition = after(columns, page.key(datetime, uuid.UUID), descending=True)
    if condition is not None:
        query = query.where(condition)
    rows = (
        await session.scalars(
            query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(
                page.limit + 1
            )
        )
    ).all()
    shown, next_cursor = page.of(rows, lambda n: (n.created_at, n.id))
    return NotificationPage(items=[to_read(n, user) for n in shown], next_cursor=next_cursor)


async def since(
    session: AsyncSession, user: User, anchor_id: uuid.UUID, limit: int = 100
) -> list[NotificationRead]:
    """What a reconnecting stream missed: the caller's notifications after ``anchor_id``."""
    anchor = (
        await session.execute(
            select(Notification.created_at, Notification.id).where(
                _inbox(user.id), Notification.id == anchor_id
            )
        )
    ).one_or_none()
    if anchor is None:
        return []
    rows = await session.scalars(
        select(Notification)
        .where(
            _inbox(user.id),
            tuple_(Notification.created_at, Notification.id) > tuple_(anchor[0], anchor[1]),
        )
        .order_by(Notification.created_at, Notification.id)
        .limit(limit)
    )
    return [to_read(n, user) for n in rows]


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).where(_inbox(user_id), Notification.status == "sent")
    )
    return int(count or 0)


async def get_own(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification:
    notification = await session.scalar(
        select(Notification).where(_inbox(user_id), Notification.id == notification_id)
    )
    if notification is None:
        raise NotFound("No such notification in your inbox.", code="notification_not_found")
    return notification


async def mark_read(
    session: AsyncSession, user: User, notification_id: uuid.UUID
) -> NotificationRead:
    notification = await get_own(session, user.id, notification_id)
    if notification.status == "sent":
        notification.status = "read"
        notification.read_at = datetime.now(UTC)
        await session.flush()
        await audit.record(session, user.id, "notification.read", "notification", notification.id)
    return to_read(notification, user)


async def mark_all_read(session: AsyncSession, user: User) -> int:
    result = await session.execute(
        update(Notification)
        .where(_inbox(user.id), Notification.status == "sent")
        .values(status="read", read_at=func.now())
        .returning(Notification.id)
    )
    marked = len(result.all())
    if marked:
        await audit.record(
            session, user.id, "notification.read_all", "user", user.id, {"marked": marked}
        )
    return marked


async def delete(session: AsyncSession, user: User, notification_id: uuid.UUID) -> None:
    notification = await get_own(session, user.id, notification_id)
    notification.deleted_at = datetime.now(UTC)
    await session.flush()
    await audit.record(session, user.id, "notification.delete", "notification", notification.id)


async def preferences(session: AsyncSession, user_id: uuid.UUID) -> list[PreferenceRead]:
    chosen = {
        (p.type, p.channel): p.enabled
        for p in await session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user_id)
        )
    }
    return [
        PreferenceRead(
            type=type_,
            channel=channel,
            enabled=(channel == "email")
            if is_transactional(type_)
            else chosen.get((type_, channel), default_enabled(type_, channel)),
            locked=is_transactional(type_),
        )
        for type_ in TYPES
        for channel in CHANNELS
    ]


def preferences_page(
    every: list[PreferenceRead], page: PageRequest
) -> tuple[list[PreferenceRead], str | None]:
    """One page of the preference matrix, in catalogue order; the cursor is a position in it
    (the matrix is fixed by the catalogue, so positions do not move between pages)."""
    key = page.key(int)
    start = key[0] + 1 if key is not None and isinstance(key[0], int) else 0
    numbered = list(enumerate(every))[start : start + page.limit + 1]
    shown, next_cursor = page.of(numbered, lambda pair: (pair[0],))
    return [item for _, item in shown], next_cursor


async def set_preferences(
    session: AsyncSession, user: User, changes: list[PreferenceChange]
) -> list[PreferenceRead]:
    for change in changes:
        if is_transactional(change.type):
            raise Unprocessable(
                f"'{change.type}' is an account email; it cannot be changed.",
                code="preference_locked",
                field=f"{change.type}.{change.channel}",
            )
    before = {(p.type, p.channel): p.enabled for p in await preferences(session, user.id)}
    latest: dict[tuple[str, str], bool] = {(c.type, c.channel): c.enabled for c in changes}
    await _upsert(session, user.id, latest)
    diff = {
        f"{type_}.{channel}": [before[(type_, channel)], enabled]
        for (type_, channel), enabled in latest.items()
        if before[(type_, channel)] != enabled
    }
    if diff:
        await audit.record(session, user.id, "notification.preferences", "user", user.id, diff)
    return await preferences(session, user.id)


async def _upsert(
    session: AsyncSession, user_id: uuid.UUID, choices: dict[tuple[str, str], bool]
) -> None:
    statement = insert(NotificationPreference).values(
        [
            {"user_id": user_id, "type": type_, "channel": channel, "enabled": enabled}
            for (type_, channel), enabled in choices.items()
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            constraint="uq_notification_preferences_user_id_type_channel",
            set_={"enabled": statement.excluded.enabled},
        )
    )


async def quiet_hours(session: AsyncSession, user: User) -> QuietHours:
    settings = await session.scalar(
        select(NotificationSettings).where(NotificationSettings.user_id == user.id)
    )
    return QuietHours(
        quiet_hours_start=settings.quiet_hours_start if settings else None,
        quiet_hours_end=settings.quiet_hours_end if settings else None,
        timezone=user.timezone,
    )


async def set_quiet_hours(session: AsyncSession, user: User, data: QuietHoursUpdate) -> QuietHours:
    start, end = data.quiet_hours_start, data.quiet_hours_end
    if (start is None) != (end is None):
        raise Unprocessable(
            "Give both quiet_hours_start and quiet_hours_end, or neither to turn them off.",
            code="quiet_hours_incomplete",
        )
    if start is not None and start == end:
        raise Unprocessable(
            "Quiet hours must start and end at different times.", code="quiet_hours_empty"
        )
    if any(t is not None and t.tzinfo is not None for t in (start, end)):
        raise Unprocessable(
            "Quiet hours are local times in your own zone; leave out the UTC offset.",
            code="quiet_hours_offset",
        )
    before = await quiet_hours(session, user)
    statement = insert(NotificationSettings).values(
        user_id=user.id, quiet_hours_start=start, quiet_hours_end=end
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"quiet_hours_start": start, "quiet_hours_end": end},
        )
    )
    after = QuietHours(quiet_hours_start=start, quiet_hours_end=end, timezone=user.timezone)
    await audit.record(
        session,
        user.id,
        "notification.quiet_hours",
        "user",
        user.id,
        audit.changes(before.model_dump(mode="json"), after.model_dump(mode="json")),
    )
    return after


async def unsubscribe(session: AsyncSession, claim: UnsubscribeClaim) -> bool:
    """Turn off email for the claimed type; False when the user no longer exists. The caller's
    transaction crosses users: the link, not a session, says who this is."""
    exists = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.id == claim.user_id, User.deleted_at.is_(None))
    )
    if not exists:
        return False
    await _upsert(session, claim.user_id, {(claim.type, "email"): False})
    await audit.record(
        session,
        claim.user_id,
        "notification.unsubscribe",
        "user",
        claim.user_id,
        {f"{claim.type}.email": [None, False]},
    )
    return True
