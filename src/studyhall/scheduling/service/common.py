"""Helpers the scheduling services share: the clock, settings rows and error mapping."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

from sqlalchemy import cast, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.kit.errors import Conflict, NotFound, Unprocessable
from studyhall.kit.timezones import validate_zone
from studyhall.scheduling.models import (
    STUDENT_OVERLAP,
    TIME_OFF_OVERLAP,
    TUTOR_OVERLAP,
    ScheduleSettings,
)

# What a settings row looks like before the tutor changes anything (mirrors the column defaults).
DEFAULT_HORIZON_DAYS = 90
# With no rolling horizon, bounded rules are still expanded no further than this.
MAX_HORIZON_DAYS = 730


_BYPASS = text("SELECT set_config('app.bypass_rls', :value, true)")


async def trusted(session: AsyncSession) -> None:
    """Let this transaction cross users under row level security (jobs, admins, billing).

    Used only where the service itself decides what may be touched; request code that acts
    for one person keeps the policies on.
    """
    await session.execute(_BYPASS, {"value": "on"})


async def untrusted(session: AsyncSession) -> None:
    await session.execute(_BYPASS, {"value": "off"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def zone_or_422(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        return validate_zone(name)
    except ValueError as exc:
        raise Unprocessable(str(exc), code="unknown_timezone", field=field) from exc


async def ensure_settings(session: AsyncSession, tutor_id: uuid.UUID) -> None:
    await session.execute(
        insert(ScheduleSettings)
        .values(tutor_id=tutor_id)
        .on_conflict_do_nothing(index_elements=["tutor_id"])
    )


async def ensure_settings_many(session: AsyncSession, tutor_ids: list[uuid.UUID]) -> None:
    await session.execute(
        insert(ScheduleSettings)
        .from_select(
            ["tutor_id"],
            select(func.unnest(cast(tutor_ids, ARRAY(PG_UUID(as_uuid=True))))),
        )
        .on_conflict_do_nothing(index_elements=["tutor_id"])
    )


async def get_settings(session: AsyncSession, tutor_id: uuid.UUID) -> ScheduleSettings:
    await ensure_settings(session, tutor_id)
    row = await session.scalar(
        select(ScheduleSettings)
        .where(ScheduleSettings.tutor_id == tutor_id)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def lock_tutor(session: AsyncSession, tutor_id: uuid.UUID) -> ScheduleSettings:
    """Every booking write for a tutor takes this row lock first.

    Daily/weekly caps and "no time off over a booking" span many rows, so no single constraint
    can hold them; serializing a tutor's writes on one row makes the checks exact, and the one
    lock order (settings, then bookings, then slots) keeps writers free of deadlocks.
    """
    query = (
        select(ScheduleSettings)
        .where(ScheduleSettings.tutor_id == tutor_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = await session.scalar(query)
    if row is None:  # a tutor who never touched their settings: create the row, then lock it
        await ensure_settings(session, tutor_id)
        row = await session.scalar(query)
    assert row is not None
    return row


async def get_tutor(session: AsyncSession, tutor_id: uuid.UUID) -> User:
    user = await session.get(User, tutor_id)
    if user is None or user.deleted_at is not None or user.role != "tutor":
        raise NotFound("No such tutor.", code="tutor_not_found")
    return user


def constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name if isinstance(name, str) else None


def raise_integrity(exc: IntegrityError) -> NoReturn:
    """Turn a constraint violation the API can cause into its problem code."""
    name = constraint_name(exc)
    if name == TUTOR_OVERLAP:
        raise Conflict(
            "The tutor already has a booking at this time (buffers included).",
            code="tutor_unavailable",
        ) from exc
    if name == STUDENT_OVERLAP:
        raise Conflict(
            "You already have a booking that overlaps this time.", code="student_overlap"
        ) from exc
    if name == TIME_OFF_OVERLAP:
        raise Conflict(
            "This time off overlaps time off you already have.", code="time_off_overlap"
        ) from exc
    raise exc
