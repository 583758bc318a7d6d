"""HTTP for what tutors publish: offerings, schedule settings, availability, time off, slots."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from studyhall.accounts.deps import OptionalUser, Tutor, TutorOrAdmin
from studyhall.db.deps import Session
from studyhall.kit.cursors import MAX_CURSOR_LENGTH
from studyhall.kit.inputs import MAX_OFFSET
from studyhall.scheduling import jobs, service
from studyhall.scheduling.schemas import (
    OfferingCreate,
    OfferingRead,
    OfferingUpdate,
    RuleCreate,
    RuleRead,
    SettingsRead,
    SettingsUpdate,
    SlotPage,
    SlotRead,
    TimeOffCreate,
    TimeOffRead,
)
from studyhall.scheduling.service.common import utcnow, zone_or_422
from studyhall.scheduling.service.listing import MAX_PAGE, list_slots

router = APIRouter(tags=["scheduling"])


@router.post("/offerings", status_code=status.HTTP_201_CREATED, summary="Create an offering")
async def create_offering(data: OfferingCreate, tutor: Tutor, session: Session) -> OfferingRead:
    return OfferingRead.model_validate(await service.create_offering(session, tutor, data))


@router.get("/offerings", summary="Active offerings, by tutor or topic tag (public)")
async def list_offerings(
    session: Session,
    viewer: OptionalUser,
    tutor_id: uuid.UUID | None = None,
    tag: Annotated[str | None, Query(max_length=60)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[OfferingRead]:
    rows = await service.list_offerings(session, tutor_id, tag, limit, offset, viewer)
    return [OfferingRead.model_validate(row) for row in rows]


@router.get("/offerings/{offering_id}", summary="One offering (public)")
async def get_offering(
    offering_id: uuid.UUID, session: Session, viewer: OptionalUser
) -> OfferingRead:
    return OfferingRead.model_validate(await service.get_offering(session, offering_id, viewer))


@router.patch("/offerings/{offering_id}", summary="Edit your offering")
async def update_offering(
    offering_id: uuid.UUID, data: OfferingUpdate, actor: TutorOrAdmin, session: Session
) -> OfferingRead:
    return OfferingRead.model_validate(
        await service.update_offering(session, actor, offering_id, data)
    )


@router.delete(
    "/offerings/{offering_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Retire an offering"
)
async def delete_offering(
    offering_id: uuid.UUID, actor: TutorOrAdmin, session: Session
) -> Response:
    await service.delete_offering(session, actor, offering_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/schedule/settings", summary="Your buffers, notice, horizon, caps and refund policy")
async def get_settings(tutor: Tutor, session: Session) -> SettingsRead:
    return SettingsRead.model_validate(await service.get_settings(session, tutor.id))


@router.patch("/schedule/settings", summary="Change your schedule settings")
async def update_settings(data: SettingsUpdate, tutor: Tutor, session: Session) -> SettingsRead:
    return SettingsRead.model_validate(await service.update_settings(session, tutor, data))


@router.post("/availability-rules", status_code=status.HTTP_201_CREATED, summary="Add availability")
async def create_rule(data: RuleCreate, tutor: Tutor, session: Session) -> RuleRead:
    return RuleRead.model_validate(await service.create_rule(session, tutor, data))


@router.get("/availability-rules", summary="Your availability rules")
async def list_rules(tutor: Tutor, session: Session) -> list[RuleRead]:
    return [RuleRead.model_validate(rule) for rule in await service.list_rules(session, tutor.id)]


@router.delete(
    "/availability-rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove availability",
)
async def delete_rule(rule_id: uuid.UUID, tutor: Tutor, session: Session) -> Response:
    await service.delete_rule(session, tutor, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/time-off", status_code=status.HTTP_201_CREATED, summary="Block time off")
async def create_time_off(data: TimeOffCreate, tutor: Tutor, session: Session) -> TimeOffRead:
    return TimeOffRead.model_validate(await service.create_time_off(session, tutor, data))


@router.get("/time-off", summary="Your time off")
async def list_time_off(tutor: Tutor, session: Session) -> list[TimeOffRead]:
    blocks = await service.list_time_off(session, tutor.id)
    return [TimeOffRead.model_validate(block) for block in blocks]


@router.delete(
    "/time-off/{block_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove time off"
)
async def delete_time_off(block_id: uuid.UUID, tutor: Tutor, session: Session) -> Response:
    await service.delete_time_off(session, tutor, block_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/slots", summary="Bookable slots of a tutor or offering (public)")
async def get_slots(
    session: Session,
    viewer: OptionalUser,
    start: Annotated[datetime, Query(alias="from")],
    end: Annotated[datetime, Query(alias="to")],
    tutor_id: uuid.UUID | None = None,
    offering_id: uuid.UUID | None = None,
    tz: Annotated[str | None, Query(max_length=64, description="IANA; default yours")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
    cursor: Annotated[
        str | None, Query(max_length=MAX_CURSOR_LENGTH, description="next_cursor of a page")
    ] = None,
) -> SlotPage:
    zone = zone_or_422(tz or (viewer.timezone if viewer else "UTC"), "tz")
    if tutor_id is not None:
        await jobs.refresh_busy_if_stale(session, tutor_id)
    slots, next_cursor = await list_slots(
        session,
        tutor_id=tutor_id,
        offering_id=offering_id,
        range_start=start,
        range_end=end,
        zone=zone,
        now=utcnow(),
        limit=limit,
        cursor=cursor,
    )
    items = [SlotRead.model_validate(slot, from_attributes=True) for slot in slots]
    return SlotPage(items=items, next_cursor=next_cursor)
