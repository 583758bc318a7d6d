"""HTTP for bookable slots: what a student can book, in their own time zone."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from studyhall.accounts.deps import OptionalUser
from studyhall.db.deps import Session
from studyhall.kit.paging import PageQuery
from studyhall.scheduling import service
from studyhall.scheduling.schemas import SlotPage, SlotRead

router = APIRouter()


@router.get("/slots", summary="List bookable slots of a tutor or offering (public)")
async def slots_list(
    session: Session,
    viewer: OptionalUser,
    page: PageQuery,
    start: Annotated[datetime, Query(alias="from")],
    end: Annotated[datetime, Query(alias="to")],
    tutor_id: uuid.UUID | None = None,
    offering_id: uuid.UUID | None = None,
    tz: Annotated[str | None, Query(max_length=64, description="IANA; default yours")] = None,
) -> SlotPage:
    """Open slots from ``from`` to ``to`` (at most 93 days), by start time, with local times in
    ``tz``. Slots that collide with the tutor's bookings or Google busy times are left out; a
    stale busy-time cache of a connected tutor is refreshed in the background."""
    zone = service.zone_or_422(tz or (viewer.timezone if viewer else "UTC"), "tz")
    slots, next_cursor = await service.list_slots(
        session,
        tutor_id=tutor_id,
        offering_id=offering_id,
        range_start=start,
        range_end=end,
        zone=zone,
        now=service.utcnow(),
        page=page,
    )
    if tutor_id is not None:
        # After the listing, whose unit of work crosses users: the tutor's sync time is theirs.
        await service.refresh_busy_if_stale(session, tutor_id)
    items = [SlotRead.model_validate(slot, from_attributes=True) for slot in slots]
    return SlotPage(items=items, next_cursor=next_cursor)
