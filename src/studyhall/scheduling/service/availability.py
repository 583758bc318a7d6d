"""Availability rules, time off and a tutor's schedule settings."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.kit.errors import Conflict, NotFound, Unprocessable
from studyhall.kit.paging import PageRequest, after
from studyhall.scheduling.calendar.recurrence import AvailabilityRule, validate_rule
from studyhall.scheduling.models import (
    ACTIVE_STATUSES,
    AvailabilityRuleRow,
    Booking,
    Offering,
    ScheduleSettings,
    TimeOffBlock,
)
from studyhall.scheduling.schemas import RuleCreate, ScheduleSettingsUpdate, TimeOffCreate
from studyhall.scheduling.service.background import schedule_materialization
from studyhall.scheduling.service.clock import utcnow, zone_or_422
from studyhall.scheduling.service.constraints import raise_integrity
from studyhall.scheduling.service.materialize import ONE_OFF_RRULE
from studyhall.scheduling.service.tutor_settings import get_settings, lock_tutor

_SETTINGS_FIELDS = (
    "buffer_before_minutes",
    "buffer_after_minutes",
    "min_notice_minutes",
    "booking_horizon_days",
    "max_bookings_per_day",
    "max_bookings_per_week",
    "full_refund_notice_hours",
    "late_refund_percent",
)


# How far back a new rule may start. Counted rules are expanded from their first day, so an
# unbounded past start ("0001-01-01") would make every expansion walk centuries.
MAX_START_DAYS_BACK = 366


def _check_start_date(data: RuleCreate, today: date) -> None:
    earliest = today - timedelta(days=MAX_START_DAYS_BACK)
    if data.start_date < earliest:
        raise Unprocessable(
            f"start_date may be at most {MAX_START_DAYS_BACK} days in the past "
            f"(on or after {earliest.isoformat()}).",
            code="start_date_too_early",
            field="start_date",
        )


def _validate_rule(data: RuleCreate, zone: str, has_horizon: bool) -> None:
    _check_start_date(data, utcnow().date())
    if data.rrule is not None:
        try:
            validate_rule(data.rrule, has_horizon or data.end_date is not None)
        except ValueError as exc:
            code = "rrule_unbounded" if "repeats forever" in str(exc) else "invalid_rrule"
            raise Unprocessable(str(exc), code=code, field="rrule") from exc
    if data.end_date is not None and data.end_date < data.start_date:
        raise Unprocessable(
            "end_date must not be before start_date.", code="invalid_date_range", field="end_date"
        )
    try:
        AvailabilityRule(
            start_time=data.start_time,
            end_time=data.end_time,
            zone=zone,
            rrule=data.rrule or ONE_OFF_RRULE,
            valid_from=data.start_date,
            valid_until=data.end_date,
        )
    except ValueError as exc:
        raise Unprocessable(str(exc), code="invalid_rule") from exc


async def create_rule(session: AsyncSession, tutor: User, data: RuleCreate) -> AvailabilityRuleRow:
    zone = tutor.timezone if data.timezone is None else data.timezone
    zone_or_422(zone)
    settings = await get_settings(session, tutor.id)
    _validate_rule(data, zone, settings.booking_horizon_days is not None)
    if data.offering_id is not None:
        offering = await session.get(Offering, data.offering_id)
        if offering is None or offering.deleted_at is not None or offering.tutor_id != tutor.id:
            raise NotFound("No such offering of yours.", code="offering_not_found")
    rule = AvailabilityRuleRow(
        tutor_id=tutor.id,
        offering_id=data.offering_id,
        timezone=zone,
        start_date=data.start_date,
        start_time=data.start_time,
        end_time=data.end_time,
        rrule=data.rrule,
        end_date=data.end_date,
    )
    session.add(rule)
    await session.flush()
    await session.refresh(rule)
    await audit.record(
        session,
        tutor.id,
        "availability_rule.create",
        "availability_rule",
        rule.id,
        {"rrule": rule.rrule, "timezone": zone},
    )
    await schedule_materialization(session, tutor.id)
    return rule


async def list_rules(session: AsyncSession, tutor_id: uuid.UUID) -> list[AvailabilityRuleRow]:
    rows = await session.scalars(
        select(AvailabilityRuleRow)
        .where(AvailabilityRuleRow.tutor_id == tutor_id, AvailabilityRuleRow.deleted_at.is_(None))
        .order_by(AvailabilityRuleRow.created_at, AvailabilityRuleRow.id)
    )
    return list(rows.all())


async def rules_page(
    session: AsyncSession, tutor_id: uuid.UUID, page: PageRequest
) -> tuple[list[AvailabilityRuleRow], str | None]:
    """A page of the tutor's availability rules, oldest first."""
    query = select(AvailabilityRuleRow).where(
        AvailabilityRuleRow.tutor_id == tutor_id, AvailabilityRuleRow.deleted_at.is_(None)
    )
    columns = (AvailabilityRuleRow.created_at.expression, AvailabilityRuleRow.id.expression)
    keyset = after(columns, page.key(datetime, uuid.UUID))
    if keyset is not None:
        query = query.where(keyset)
    rows = (await session.scalars(query.order_by(*columns).limit(page.limit + 1))).all()
    return page.of(rows, lambda row: (row.created_at, row.id))


async def delete_rule(session: AsyncSession, tutor: User, rule_id: uuid.UUID) -> None:
    rule = await session.get(AvailabilityRuleRow, rule_id, with_for_update=True)
    if rule is None or rule.deleted_at is not None or rule.tutor_id != tutor.id:
        raise NotFound("No such availability rule of yours.", code="rule_not_found")
    rule.deleted_at = utcnow()
    rule.is_active = False
    await audit.record(session, tutor.id, "availability_rule.delete", "availability_rule", rule.id)
    await schedule_materialization(session, tutor.id)


async def create_time_off(session: AsyncSession, tutor: User, data: TimeOffCreate) -> TimeOffBlock:
    start, end = _aware(data.start_at, "start_at"), _aware(data.end_at, "end_at")
    if end <= start:
        raise Unprocessable(
            "end_at must be after start_at.", code="end_before_start", field="end_at"
        )
    await lock_tutor(session, tutor.id)
    clash = await session.scalar(
        select(
            exists().where(
                Booking.tutor_id == tutor.id,
                Booking.status.in_(ACTIVE_STATUSES),
                func.tstzrange(Booking.start_at, Booking.end_at).op("&&")(
                    func.tstzrange(start, end)
                ),
            )
        )
    )
    if clash:
        raise Conflict(
            "You have bookings in this time; cancel or reschedule them first.",
            code="time_off_overlaps_booking",
        )
    block = TimeOffBlock(tutor_id=tutor.id, start_at=start, end_at=end, reason=data.reason)
    session.add(block)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise_integrity(exc)
    await audit.record(
        session, tutor.id, "time_off.create", "time_off_block", block.id, {"start_at": start}
    )
    await schedule_materialization(session, tutor.id)
    return block


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise Unprocessable(
            f"{field} needs a UTC offset, e.g. 2026-03-29T09:00:00Z.",
            code="naive_datetime",
            field=field,
        )
    return value


async def list_time_off(session: AsyncSession, tutor_id: uuid.UUID) -> list[TimeOffBlock]:
    rows = await session.scalars(
        select(TimeOffBlock)
        .where(TimeOffBlock.tutor_id == tutor_id, TimeOffBlock.deleted_at.is_(None))
        .order_by(TimeOffBlock.start_at, TimeOffBlock.id)
    )
    return list(rows.all())


async def time_off_page(
    session: AsyncSession, tutor_id: uuid.UUID, page: PageRequest
) -> tuple[list[TimeOffBlock], str | None]:
    """A page of the tutor's time off, earliest first."""
    query = select(TimeOffBlock).where(
        TimeOffBlock.tutor_id == tutor_id, TimeOffBlock.deleted_at.is_(None)
    )
    columns = (TimeOffBlock.start_at.expression, TimeOffBlock.id.expression)
    keyset = after(columns, page.key(datetime, uuid.UUID))
    if keyset is not None:
        query = query.where(keyset)
    rows = (await session.scalars(query.order_by(*columns).limit(page.limit + 1))).all()
    return page.of(rows, lambda row: (row.start_at, row.id))


async def delete_time_off(session: AsyncSession, tutor: User, block_id: uuid.UUID) -> None:
    block = await session.get(TimeOffBlock, block_id, with_for_update=True)
    if block is None or block.deleted_at is not None or block.tutor_id != tutor.id:
        raise NotFound("No such time off of yours.", code="time_off_not_found")
    block.deleted_at = utcnow()
    await audit.record(session, tutor.id, "time_off.delete", "time_off_block", block.id)
    await schedule_materialization(session, tutor.id)


async def update_settings(
    session: AsyncSession, tutor: User, data: ScheduleSettingsUpdate
) -> ScheduleSettings:
    settings = await lock_tutor(session, tutor.id)
    changes = data.model_dump(exclude_unset=True)
    if "booking_horizon_days" in changes and changes["booking_horizon_days"] is None:
        await _refuse_if_unbounded_rules(session, tutor.id)
    before = {name: getattr(settings, name) for name in _SETTINGS_FIELDS}
    for name, value in changes.items():
        setattr(settings, name, value)
    await session.flush()
    after = {name: getattr(settings, name) for name in _SETTINGS_FIELDS}
    await audit.record(
        session,
        tutor.id,
        "schedule_settings.update",
        "tutor_schedule_settings",
        settings.id,
        audit.changes(before, after),
    )
    await schedule_materialization(session, tutor.id)
    return settings


async def _refuse_if_unbounded_rules(session: AsyncSession, tutor_id: uuid.UUID) -> None:
    for rule in await list_rules(session, tutor_id):
        if rule.rrule is None or rule.end_date is not None:
            continue
        if not validate_rule(rule.rrule, has_horizon=True).has_end:
            raise Conflict(
                "A rule of yours repeats forever; without a booking horizon its slots would "
                "never end. Give the rule an end first.",
                code="rrule_unbounded",
            )
