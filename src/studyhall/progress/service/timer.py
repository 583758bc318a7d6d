"""The study timer: start, heartbeat, stop. One running session per learner is a partial unique
index; a session that stops hearing from its tab closes at its last heartbeat."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.kit.errors import Conflict, NotFound
from studyhall.kit.paging import PageRequest, after
from studyhall.kit.timezones import local_date, validate_zone
from studyhall.progress.config import ProgressConfig
from studyhall.progress.models import StudySession
from studyhall.progress.service import ledger
from studyhall.progress.service.events import StudyTime


def _idle(config: ProgressConfig) -> timedelta:
    return timedelta(seconds=config.idle_timeout_s)


def _cap(config: ProgressConfig) -> timedelta:
    return timedelta(minutes=config.session_cap_minutes)


async def running(session: AsyncSession, user_id: uuid.UUID) -> StudySession | None:
    return await session.scalar(
        select(StudySession)
        .where(StudySession.user_id == user_id, StudySession.ended_at.is_(None))
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _seconds_paid_today(session: AsyncSession, row: StudySession) -> int:
    paid = await session.scalar(
        select(func.coalesce(func.sum(StudySession.duration_seconds), 0)).where(
            StudySession.user_id == row.user_id,
            StudySession.local_date == row.local_date,
            StudySession.ended_at.is_not(None),
            StudySession.id != row.id,
        )
    )
    return int(paid or 0)


async def close(
    session: AsyncSession, row: StudySession, end: datetime, reason: str, config: ProgressConfig
) -> StudySession:
    """End ``row`` at ``end`` (never past the session cap) and pay its minutes within the day's
    cap, for the local day it started on."""
    if end - row.started_at >= _cap(config):
        end, reason = row.started_at + _cap(config), "capped"
    end = max(end, row.started_at)
    seconds = int((end - row.started_at).total_seconds())
    room = max(0, config.daily_xp_minutes_cap * 60 - await _seconds_paid_today(session, row))
    row.ended_at, row.duration_seconds, row.close_reason = end, seconds, reason
    await session.flush()
    event = StudyTime(row.user_id, row.id, min(seconds, room), at=row.started_at)
    recorded = await ledger.record(session, event)
    row.xp_awarded = recorded.xp
    await session.flush()
    return row


def _stale(row: StudySession, now: datetime, config: ProgressConfig) -> bool:
    return now - row.last_heartbeat_at > _idle(config)


async def start(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, config: ProgressConfig
) -> StudySession:
    current = await running(session, user_id)
    if current is not None and _stale(current, now, config):
        await close(session, current, current.last_heartbeat_at, "idle", config)
    elif current is not None:
        raise Conflict(
            "A study session is already running.",
            code="study_session_running",
            study_session_id=str(current.id),
        )
    zone = validate_zone(await ledger.zone_of(session, user_id))
    created: StudySession | None = await session.scalar(
        insert(StudySession)
        .values(
            user_id=user_id, started_at=now, last_heartbeat_at=now, local_date=local_date(now, zone)
        )
        .on_conflict_do_nothing(index_elements=["user_id"], index_where=text("ended_at IS NULL"))
        .returning(StudySession)
    )
    if created is None:  # another tab started one a moment ago
        raise Conflict("A study session is already running.", code="study_session_running")
    return created


async def _current_or_404(session: AsyncSession, user_id: uuid.UUID) -> StudySession:
    current = await running(session, user_id)
    if current is None:
        raise NotFound("No study session is running.", code="study_session_not_running")
    return current


async def heartbeat(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, config: ProgressConfig
) -> StudySession:
    """Keep the session alive; a session already past its idle time or its cap is closed
    instead, and returned closed."""
    current = await _current_or_404(session, user_id)
    if _stale(current, now, config):
        return await close(session, current, current.last_heartbeat_at, "idle", config)
    if now - current.started_at >= _cap(config):
        return await close(session, current, now, "capped", config)
    current.last_heartbeat_at = max(now, current.last_heartbeat_at)
    await session.flush()
    return current


async def stop(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, config: ProgressConfig
) -> StudySession:
    current = await _current_or_404(session, user_id)
    if _stale(current, now, config):
        return await close(session, current, current.last_heartbeat_at, "idle", config)
    return await close(session, current, now, "stopped", config)


async def close_idle(session: AsyncSession, now: datetime, config: ProgressConfig) -> int:
    """The job's sweep (trusted session): every session silent past the idle time closes at its
    last heartbeat."""
    stale = (
        await session.scalars(
            select(StudySession)
            .where(
                StudySession.ended_at.is_(None),
                StudySession.last_heartbeat_at < now - _idle(config),
            )
            .order_by(StudySession.last_heartbeat_at)
            .limit(500)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for row in stale:
        await close(session, row, row.last_heartbeat_at, "idle", config)
    return len(stale)


async def recent(
    session: AsyncSession, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[StudySession], str | None]:
    """The learner's sessions, newest first."""
    order = (StudySession.started_at.expression, StudySession.id.expression)
    query = (
        select(StudySession)
        .where(StudySession.user_id == user_id)
        .order_by(*(column.desc() for column in order))
        .limit(page.limit + 1)
    )
    beyond = after(order, page.key(datetime, uuid.UUID), descending=True)
    if beyond is not None:
        query = query.where(beyond)
    rows = list((await session.scalars(query)).all())
    return page.of(rows, lambda row: (row.started_at, row.id))
