"""Bookable slots for a tutor or an offering over a date range, in the viewer's zone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.db.rls import cross_users
from studyhall.kit.errors import Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.scheduling.service.sellers import sellable_sql, seller_params

MAX_RANGE = timedelta(days=93)
# The API asks for at most ``kit.paging.MAX_LIMIT``; the web app's fortnight view asks for more.
MAX_PAGE = 1000
# Sorts before every real offering id: the first page's keyset condition then keeps
# everything from the range start, and one statement serves every page.
_BEFORE_ALL_OFFERINGS = uuid.UUID(int=0)

# Hidden: slots of tutors who may not sell, closed, past or inside minimum notice, full (unless a
# seat is an expired hold, which never blocks), and slots that collide with the tutor's other
# bookings (buffers included) or with a busy time of the tutor's connected Google Calendar.
_LIST = """
    SELECT s.id, s.tutor_id, s.offering_id, s.start_at, s.end_at, s.status, s.capacity,
           s.seats_taken
    FROM slots s
    JOIN offerings o ON o.id = s.offering_id AND o.is_active AND o.deleted_at IS NULL
    LEFT JOIN tutor_schedule_settings st ON st.tutor_id = s.tutor_id
    WHERE {owner}
      AND {seller}
      AND s.start_at >= :range_start AND s.start_at < :range_end
      AND (s.start_at, s.offering_id) > (:after_start, :after_offering)
      AND s.start_at >= :now + make_interval(mins => COALESCE(st.min_notice_minutes, 0))
      AND s.status <> 'closed'
      AND (s.seats_taken < s.capacity OR EXISTS (
            SELECT 1 FROM bookings x WHERE x.slot_id = s.id
              AND x.status IN ('pending_payment', 'pending_approval')
              AND x.hold_expires_at <= :now))
      AND NOT EXISTS (
            SELECT 1 FROM bookings b
            WHERE b.tutor_id = s.tutor_id AND b.slot_id <> s.id
              AND b.status IN ('pending_payment', 'pending_approval', 'confirmed')
              AND (b.status = 'confirmed' OR b.hold_expires_at > :now)
              AND b.blocked_range && tstzrange(
                    s.start_at - make_interval(mins => COALESCE(st.buffer_before_minutes, 0)),
                    s.end_at + make_interval(mins => COALESCE(st.buffer_after_minutes, 0))))
      AND NOT EXISTS (
            SELECT 1 FROM calendar_busy_times cb
            WHERE cb.user_id = s.tutor_id AND cb.busy && tstzrange(s.start_at, s.end_at))
    ORDER BY s.start_at, s.offering_id
    LIMIT :limit
"""
# One statement per filter: an "x IS NULL OR col = x" filter would hide the index from the planner.
_SELLER = sellable_sql("s.tutor_id")
_BY_TUTOR = text(_LIST.format(owner="s.tutor_id = :tutor_id", seller=_SELLER))
_BY_OFFERING = text(_LIST.format(owner="s.offering_id = :offering_id", seller=_SELLER))
_BY_BOTH = text(
    _LIST.format(owner="s.offering_id = :offering_id AND s.tutor_id = :tutor_id", seller=_SELLER)
)


@dataclass(frozen=True)
class ListedSlot:
    id: uuid.UUID
    tutor_id: uuid.UUID
    offering_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    local_start: datetime
    local_end: datetime
    timezone: str
    status: str
    capacity: int
    seats_taken: int


async def list_slots(
    session: AsyncSession,
    *,
    tutor_id: uuid.UUID | None,
    offering_id: uuid.UUID | None,
    range_start: datetime,
    range_end: datetime,
    zone: ZoneInfo,
    now: datetime,
    page: PageRequest,
) -> tuple[list[ListedSlot], str | None]:
    """One page of open slots ordered by (start, offering), and the cursor of the next page
    (None when this page is the last).

    Other people's bookings decide what is free, so the listing crosses users (declared here, at
    the start of its unit of work); only slot columns leave the query.
    """
    if tutor_id is None and offering_id is None:
        raise Unprocessable("Give tutor_id or offering_id.", code="slot_filter_required")
    if range_start.tzinfo is None or range_end.tzinfo is None:
        raise Unprocessable("from and to need a UTC offset.", code="naive_datetime")
    if range_end <= range_start:
        raise Unprocessable("'to' must be after 'from'.", code="end_before_start")
    if range_end - range_start > MAX_RANGE:
        raise Unprocessable("A listing covers at most 93 days.", code="range_too_long")
    if not 1 <= page.limit <= MAX_PAGE:
        raise Unprocessable(f"limit must be 1 to {MAX_PAGE}.", code="invalid_limit", field="limit")
    after_start, after_offering = range_start, _BEFORE_ALL_OFFERINGS
    key = page.key(datetime, uuid.UUID)
    if key is not None:
        after_start, after_offering = cast(datetime, key[0]), cast(uuid.UUID, key[1])
    query = _BY_BOTH if tutor_id and offering_id else _BY_TUTOR if tutor_id else _BY_OFFERING
    await cross_users(session)
    rows = await session.execute(
        query,
        {
            "tutor_id": tutor_id,
            "offering_id": offering_id,
            "range_start": range_start,
            "range_end": range_end,
            "now": now,
            "after_start": after_start,
            "after_offering": after_offering,
            "limit": page.limit + 1,
            **seller_params(),
        },
    )
    listed = [
        ListedSlot(
            id=row.id,
            tutor_id=row.tutor_id,
            offering_id=row.offering_id,
            start_at=row.start_at,
            end_at=row.end_at,
            local_start=row.start_at.astimezone(zone),
            local_end=row.end_at.astimezone(zone),
            timezone=zone.key,
            status="open" if row.seats_taken < row.capacity else row.status,
            capacity=row.capacity,
            seats_taken=row.seats_taken,
        )
        for row in rows
    ]
    return page.of(listed, lambda slot: (slot.start_at, slot.offering_id))
