"""Achievement definitions, edited by admins. A new definition, or one made easier or turned
back on, is awarded by a job to every learner who already qualifies."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.jobs import enqueue
from studyhall.kit.errors import Conflict, NotFound
from studyhall.kit.paging import PageRequest, after
from studyhall.progress import jobs
from studyhall.progress.models import Achievement, UserAchievement


async def listed(
    session: AsyncSession, page: PageRequest, *, include_inactive: bool
) -> tuple[list[Achievement], str | None]:
    """By criteria, then target: the order in which a learner meets them."""
    order = (
        Achievement.criteria_type.expression,
        Achievement.criteria_value.expression,
        Achievement.id.expression,
    )
    query = select(Achievement).order_by(*order).limit(page.limit + 1)
    beyond = after(order, page.key(str, int, uuid.UUID))
    if beyond is not None:
        query = query.where(beyond)
    if not include_inactive:
        query = query.where(Achievement.is_active)
    rows = list((await session.scalars(query)).all())
    return page.of(rows, lambda row: (row.criteria_type, row.criteria_value, row.id))


async def unlocked_by(session: AsyncSession, user_id: uuid.UUID) -> dict[uuid.UUID, Any]:
    rows = await session.execute(
        select(UserAchievement.achievement_id, UserAchievement.unlocked_at).where(
            UserAchievement.user_id == user_id
        )
    )
    return {achievement_id: unlocked_at for achievement_id, unlocked_at in rows.all()}


async def create(session: AsyncSession, admin: User, fields: dict[str, Any]) -> Achievement:
    created: Achievement | None = await session.scalar(
        insert(Achievement)
        .values(**fields)
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(Achievement)
    )
    if created is None:
        raise Conflict(
            f"An achievement with code '{fields['code']}' exists.",
            code="achievement_code_taken",
            field="code",
        )
    await audit.record(session, admin.id, "achievement.create", "achievement", created.id, fields)
    await _award_later(session, created)
    return created


async def update(
    session: AsyncSession, admin: User, achievement_id: uuid.UUID, changes: dict[str, Any]
) -> Achievement:
    achievement = await session.get(Achievement, achievement_id, with_for_update=True)
    if achievement is None:
        raise NotFound("No such achievement.", code="achievement_not_found")
    easier = (
        changes.get("criteria_value", achievement.criteria_value) < achievement.criteria_value
        or changes.get("criteria_type", achievement.criteria_type) != achievement.criteria_type
        or (changes.get("is_active") is True and not achievement.is_active)
    )
    for key, value in changes.items():
        setattr(achievement, key, value)
    await session.flush()
    await audit.record(
        session, admin.id, "achievement.update", "achievement", achievement.id, changes
    )
    if easier:
        await _award_later(session, achievement)
    return achievement


async def _award_later(session: AsyncSession, achievement: Achievement) -> None:
    if achievement.is_active:
        await enqueue(
            session,
            jobs.award_retroactively,
            lock=f"achievement:{achievement.id}",
            achievement_id=str(achievement.id),
        )
