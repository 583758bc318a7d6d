"""HTTP for a tutor's own schedule: settings, availability rules and time off."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from studyhall.accounts.deps import Tutor
from studyhall.db.deps import Session
from studyhall.kit.paging import PageQuery
from studyhall.scheduling import service
from studyhall.scheduling.schemas import (
    RuleCreate,
    RulePage,
    RuleRead,
    ScheduleSettingsRead,
    ScheduleSettingsUpdate,
    TimeOffCreate,
    TimeOffPage,
    TimeOffRead,
)

router = APIRouter()


@router.get("/schedule/settings", summary="Get your schedule settings")
async def schedule_settings_get(tutor: Tutor, session: Session) -> ScheduleSettingsRead:
    """Your buffers, minimum notice, booking horizon, daily and weekly caps and refund policy."""
    return ScheduleSettingsRead.model_validate(await service.get_settings(session, tutor.id))


@router.patch("/schedule/settings", summary="Change your schedule settings")
async def schedule_settings_update(
    data: ScheduleSettingsUpdate, tutor: Tutor, session: Session
) -> ScheduleSettingsRead:
    """Change the settings sent; slots are materialized again when the horizon changes."""
    return ScheduleSettingsRead.model_validate(await service.update_settings(session, tutor, data))


@router.post("/availability-rules", status_code=status.HTTP_201_CREATED, summary="Add availability")
async def availability_rules_create(data: RuleCreate, tutor: Tutor, session: Session) -> RuleRead:
    """A weekly or RRULE-based window in your time zone in which your offerings get slots."""
    return RuleRead.model_validate(await service.create_rule(session, tutor, data))


@router.get("/availability-rules", summary="List your availability rules")
async def availability_rules_list(tutor: Tutor, session: Session, page: PageQuery) -> RulePage:
    """Your active availability rules, oldest first."""
    rows, next_cursor = await service.rules_page(session, tutor.id, page)
    return RulePage(items=[RuleRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.delete(
    "/availability-rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove availability",
)
async def availability_rule_delete(rule_id: uuid.UUID, tutor: Tutor, session: Session) -> Response:
    """The rule stops producing slots; booked slots stay."""
    await service.delete_rule(session, tutor, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/time-off", status_code=status.HTTP_201_CREATED, summary="Block time off")
async def time_off_create(data: TimeOffCreate, tutor: Tutor, session: Session) -> TimeOffRead:
    """A period in which none of your slots is offered (refused over an active booking)."""
    return TimeOffRead.model_validate(await service.create_time_off(session, tutor, data))


@router.get("/time-off", summary="List your time off")
async def time_off_list(tutor: Tutor, session: Session, page: PageQuery) -> TimeOffPage:
    """Your time off, earliest first."""
    rows, next_cursor = await service.time_off_page(session, tutor.id, page)
    return TimeOffPage(
        items=[TimeOffRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.delete(
    "/time-off/{block_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove time off"
)
async def time_off_delete(block_id: uuid.UUID, tutor: Tutor, session: Session) -> Response:
    """The period is bookable again once slots are materialized."""
    await service.delete_time_off(session, tutor, block_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
