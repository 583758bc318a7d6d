"""A tutor's schedule settings row: created on first use, and the lock every booking write takes."""

from __future__ import annotations

import uuid

from sqlalchemy import cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.scheduling.models import ScheduleSettings

# What a settings row looks like before the tutor changes anything (mirrors the column defaults).
DEFAULT_HORIZON_DAYS = 90
# With no rolling horizon, bounded rules are still expanded no further than this.
MAX_HORIZON_DAYS = 730


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
