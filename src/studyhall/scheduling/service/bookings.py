"""Bookings: hold, confirm, cancel, reschedule, approve/decline. Double-booking is refused by
PostgreSQL itself: seats by one conditional UPDATE, overlaps by the exclusion constraints; the
checks here give clear errors.

Every change to a booking crosses users (the tutor's slots and caps, another student's lapsed
hold, the student's payment): each entry point declares it at its start (``db.rls.cross_users``)
and checks the actor itself, so a party reaches only their own bookings. Each change emits its
fact (``scheduling.events``) in its transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, true
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.db.rls import cross_users
from studyhall.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from studyhall.kit.events import emit
from studyhall.kit.paging import PageRequest, after
from studyhall.kit.timezones import local_date, local_day_bounds, local_week_bounds
from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.events import BookingCanceled, BookingCreated, BookingRescheduled
from studyhall.scheduling.google import busy as google_busy
from studyhall.scheduling.models import (
    ACTIVE_STATUSES,
    HOLD_STATUSES,
    Booking,
    Offering,
    ScheduleSettings,
    Slot,
)
from studyhall.scheduling.service import meeting_links
from studyhall.scheduling.service.background import (
    schedule_calendar_sync,
    schedule_expiry,
    schedule_materialization,
)
from studyhall.scheduling.service.clock import zone_or_422
from studyhall.scheduling.service.constraints import raise_integrity
from studyhall.scheduling.service.policy import approval_deadline, refund_due
from studyhall.scheduling.service.seats import expire_holds, free_seat, refresh_slot, take_seat
from studyhall.scheduling.service.sellers import require_seller
from studyhall.scheduling.service.tutor_settings import lock_tutor


def _blocked(slot: Slot, settings: ScheduleSettings) -> Range[datetime]:
    return Range(
        slot.start_at - timedelta(minutes=settings.buffer_before_minutes),
        slot.end_at + timedelta(minutes=settings.buffer_after_minutes),
        bounds="[)",
    )


async def load_slot(session: AsyncSession, slot_id: uuid.UUID) -> tuple[Slot, Offering]:
    found = (
        await session.execute(
            select(Slot, Offering)
            .join(Offering, Offering.id == Slot.offering_id)
            .where(Slot.id == slot_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    if found is None:
        raise NotFound("No such slot.", code="slot_not_found")
    return found[0], found[1]


def _check_timing(slot: Slot, settings: ScheduleSettings, now: datetime) -> None:
    if slot.start_at <= now:
        raise Unprocessable("This slot has already started.", code="slot_in_past")
    if slot.start_at < now + timedelta(minutes=settings.min_notice_minutes):
        raise Unprocessable(
            f"The tutor needs at least {settings.min_notice_minutes} minutes' notice.",
            code="inside_minimum_notice",
        )
    horizon = settings.booking_horizon_days
    if horizon is not None and slot.start_at >= now + timedelta(days=horizon):
        raise Unprocessable(
            f"The tutor takes bookings at most {horizon} days ahead.", code="beyond_horizon"
        )


async def _check_caps(
    session: AsyncSession, settings: ScheduleSettings, slot: Slot, moving: Booking | None
) -> None:
    """Daily and weekly caps in the tutor's zone; a booking being moved is not counted twice."""
    if settings.max_bookings_per_day is None and settings.max_bookings_per_week is None:
        return
    tutor = await session.get(User, settings.tutor_id)
    assert tutor is not None
    zone = zone_or_422(tutor.timezone)
    day = local_date(slot.start_at, zone)
    caps = (
        (settings.max_bookings_per_day, local_day_bounds(day, zone), "daily_limit_reached", "day"),
        (
            settings.max_bookings_per_week,
            local_week_bounds(day, zone),
            "weekly_limit_reached",
            "week",
        ),
    )
    others = Booking.id != moving.id if moving is not None else true()
    # Caps count every student's bookings, not only the ones the caller may see.
    for cap, (start, end), code, unit in caps:
        if cap is None:
            continue
        count = await session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(
                Booking.tutor_id == tutor.id,
                Booking.status.in_(ACTIVE_STATUSES),
                Booking.start_at >= start,
                Booking.start_at < end,
                others,
            )
        )
        if (count or 0) >= cap:
            raise Conflict(f"The tutor takes at most {cap} bookings per {unit}.", code=code)


async def _check_bookable(
    session: AsyncSession,
    offering: Offering,
    slot: Slot,
    settings: ScheduleSettings,
    now: datetime,
    *,
    moving: Booking | None = None,
) -> str | None:
    """What a slot must pass before a seat in it is taken, by a new booking or by a move.
    Returns the tutor's standing meeting link (None when unset), read with the seller check."""
    if not offering.is_active or offering.deleted_at is not None:
        raise Conflict("This offering is no longer offered.", code="slot_closed")
    standing_link = await require_seller(session, offering.tutor_id)
    _check_timing(slot, settings, now)
    await _check_caps(session, settings, slot, moving)
    await google_busy.require_free(session, offering.tutor_id, slot.start_at, slot.end_at)
    return standing_link


async def _seat_or_conflict(session: AsyncSession, slot: Slot, *, confirmed: bool) -> None:
    if await take_seat(session, slot.id, confirmed=confirmed):
        return
    await session.refresh(slot)
    if slot.status == "closed":
        raise Conflict("This slot is no longer offered.", code="slot_closed")
    raise Conflict("This slot is full.", code="slot_full")


def _initial_state(
    offering: Offering, slot: Slot, now: datetime
) -> tuple[str, datetime | None, str, str]:
    """(status, hold_expires_at, payment_method, payment_status) of a new booking."""
    config = scheduling_settings()
    if offering.price_cents > 0:
        return (
            "pending_payment",
            now + timedelta(minutes=config.booking_hold_minutes),
            "provider",
            "pending",
        )
    if offering.requires_approval:
        return "pending_approval", approval_deadline(slot.start_at, now), "free", "not_required"
    return "confirmed", None, "free", "not_required"


async def create_booking(
    session: AsyncSession,
    student: User,
    slot_id: uuid.UUID,
    notes: str | None,
    now: datetime,
    *,
    booking_id: uuid.UUID | None = None,
    loaded: tuple[Slot, Offering] | None = None,
) -> Booking:
    """``loaded``: the slot and its offering as ``load_slot`` just read them in this
    transaction (not read twice). Nothing is locked by that read; the seat is taken below by a
    conditional UPDATE whatever the slot looked like."""
    await cross_users(session)
    slot, offering = loaded or await load_slot(session, slot_id)
    if offering.tutor_id == student.id:
        raise Unprocessable("You cannot book your own offering.", code="own_offering")
    settings = await lock_tutor(session, offering.tutor_id)
    await expire_holds(session, now, tutor_id=offering.tutor_id, student_id=student.id)
    standing = await _check_bookable(session, offering, slot, settings, now)
    status, hold_until, method, payment_status = _initial_state(offering, slot, now)
    await _seat_or_conflict(session, slot, confirmed=status == "confirmed")
    # The tutor's standing meeting link, when they set one, is every new booking's join link.
    join_link = standing or meeting_links.new_room_link()
    booking = Booking(
        id=booking_id or uuid.uuid4(),
        student_id=student.id,
        tutor_id=offering.tutor_id,
        offering_id=offering.id,
        slot_id=slot.id,
        start_at=slot.start_at,
        end_at=slot.end_at,
        blocked_range=_blocked(slot, settings),
        status=status,
        hold_expires_at=hold_until,
        payment_method=method,
        payment_status=payment_status,
        price_cents=offering.price_cents,
        currency=offering.currency,
        full_refund_notice_hours=settings.full_refund_notice_hours,
        late_refund_percent=settings.late_refund_percent,
        student_notes=notes,
        join_link=join_link,
    )
    session.add(booking)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise_integrity(exc)
    await audit.record(
        session,
        student.id,
        "booking.create",
        "booking",
        booking.id,
        {"slot_id": slot.id, "status": status, "price_cents": booking.price_cents},
    )
    if booking.hold_expires_at is not None:
        await schedule_expiry(session, booking.tutor_id, booking.hold_expires_at)
    if status == "confirmed":
        await schedule_calendar_sync(session, booking.id)
    await emit(
        session,
        BookingCreated(
            booking_id=booking.id,
            student_id=booking.student_id,
            tutor_id=booking.tutor_id,
            offering_id=booking.offering_id,
            starts_at=booking.start_at,
            ends_at=booking.end_at,
            status=booking.status,
        ),
    )
    return booking


async def get_booking(session: AsyncSession, actor: User, booking_id: uuid.UUID) -> Booking:
    """A booking its student, tutor or an admin may see; anyone else gets 404, not 403."""
    if actor.role == "admin":  # admins act across users; parties stay under the policies
        await cross_users(session)
    booking = await session.get(Booking, booking_id, populate_existing=True)
    if booking is None or (
        actor.role != "admin" and actor.id not in (booking.student_id, booking.tutor_id)
    ):
        raise NotFound("No such booking.", code="booking_not_found")
    return booking


async def _locked(
    session: AsyncSession, actor: User, booking_id: uuid.UUID
) -> tuple[Booking, ScheduleSettings]:
    booking = await get_booking(session, actor, booking_id)
    settings = await lock_tutor(session, booking.tutor_id)
    locked = await session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    assert locked is not None
    return locked, settings


async def get_booking_details(
    session: AsyncSession, actor: User, booking_id: uuid.UUID
) -> dict[str, Any]:
    """One booking with its offering, tutor and student names (the ``booking_details`` view),
    for a party to it or an admin."""
    await get_booking(session, actor, booking_id)
    row = (
        await session.execute(
            text("SELECT * FROM booking_details WHERE id = :id"), {"id": booking_id}
        )
    ).first()
    if row is None:
        raise NotFound("No such booking.", code="booking_not_found")
    return dict(row._mapping)


def _party(actor: User, booking: Booking) -> str:
    if actor.id == booking.student_id:
        return "student"
    if actor.id == booking.tutor_id:
        return "tutor"
    return "admin"


async def cancel_booking(
    session: AsyncSession, actor: User, booking_id: uuid.UUID, reason: str | None, now: datetime
) -> Booking:
    await cross_users(session)
    booking, _ = await _locked(session, actor, booking_id)
    if booking.status not in ACTIVE_STATUSES:
        raise Conflict(f"This booking is already {booking.status}.", code="booking_not_active")
    if booking.start_at <= now:
        raise Conflict("This booking has already started.", code="booking_started")
    await _cancel(session, booking, _party(actor, booking), reason, now, actor.id)
    return booking


async def cancel_for_closed_account(
    session: AsyncSession, booking_id: uuid.UUID, by: str, reason: str, now: datetime
) -> tuple[Booking, str] | None:
    """The system cancels a booking whose tutor or student account closed, as ``by`` would
    (the refund follows from it). Returns the booking and its status before, or None when it is
    no longer an active future booking (a re-run finds nothing to do)."""
    await cross_users(session)  # the system acts across both parties
    found = await session.get(Booking, booking_id)
    if found is None:
        return None
    await lock_tutor(session, found.tutor_id)
    booking = await session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    assert booking is not None
    if booking.status not in ACTIVE_STATUSES or booking.start_at <= now:
        return None
    before = booking.status
    await _cancel(session, booking, by, reason, now, None)
    return booking, before


async def _cancel(
    session: AsyncSession,
    booking: Booking,
    by: str,
    reason: str | None,
    now: datetime,
    actor_id: uuid.UUID | None,
) -> None:
    before = booking.status
    booking.refund_due_cents = refund_due(booking, by, now)
    booking.status = "canceled"
    booking.canceled_by = by
    booking.canceled_at = now
    booking.cancellation_reason = reason
    booking.hold_expires_at = None
    if booking.payment_status in ("pending", "processing"):
        booking.payment_status = "canceled"
    booking.sequence += 1
    await session.flush()
    await free_seat(session, booking.slot_id)
    await audit.record(
        session,
        actor_id,
        "booking.cancel",
        "booking",
        booking.id,
        {
            "status": [before, "canceled"],
            "canceled_by": by,
            "refund_due_cents": booking.refund_due_cents,
        },
    )
    await schedule_calendar_sync(session, booking.id)
    await schedule_materialization(session, booking.tutor_id)
    await emit(
        session,
        BookingCanceled(
            booking_id=booking.id,
            student_id=booking.student_id,
            tutor_id=booking.tutor_id,
            canceled_by=actor_id,
            reason=reason,
        ),
    )


async def reschedule_booking(
    session: AsyncSession, actor: User, booking_id: uuid.UUID, slot_id: uuid.UUID, now: datetime
) -> Booking:
    """Take the new slot and release the old one in one transaction, or change nothing.

    The new slot passes every check a new booking passes. A hold whose time is up is refused
    even before the sweep has canceled it: its seat is about to be given back.
    """
    await cross_users(session)
    booking, settings = await _locked(session, actor, booking_id)
    if booking.status not in ACTIVE_STATUSES:
        raise Conflict(f"This booking is already {booking.status}.", code="booking_not_active")
    _refuse_lapsed_hold(booking, now)
    if booking.start_at <= now:
        raise Conflict("This booking has already started.", code="booking_started")
    slot, offering = await load_slot(session, slot_id)
    if slot.offering_id != booking.offering_id:
        raise Unprocessable(
            "A booking can only move to another slot of the same offering.",
            code="different_offering",
        )
    if slot.id == booking.slot_id:
        raise Unprocessable("The booking is already in this slot.", code="same_slot")
    await expire_holds(session, now, tutor_id=booking.tutor_id, student_id=booking.student_id)
    await _check_bookable(session, offering, slot, settings, now, moving=booking)
    old_slot, old_start = booking.slot_id, booking.start_at
    await _seat_or_conflict(session, slot, confirmed=booking.status == "confirmed")
    booking.slot_id = slot.id
    booking.start_at = slot.start_at
    booking.end_at = slot.end_at
    booking.blocked_range = _blocked(slot, settings)
    booking.sequence += 1
    if booking.status == "pending_approval":
        booking.hold_expires_at = approval_deadline(slot.start_at, now)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise_integrity(exc)
    await free_seat(session, old_slot)
    await refresh_slot(session, slot.id)
    await audit.record(
        session,
        actor.id,
        "booking.reschedule",
        "booking",
        booking.id,
        {"slot_id": [old_slot, slot.id], "start_at": [old_start, slot.start_at]},
    )
    await schedule_calendar_sync(session, booking.id)
    await schedule_materialization(session, booking.tutor_id)
    await emit(
        session,
        BookingRescheduled(
            booking_id=booking.id,
            student_id=booking.student_id,
            tutor_id=booking.tutor_id,
            starts_at=booking.start_at,
            ends_at=booking.end_at,
            previous_starts_at=old_start,
        ),
    )
    return booking


def _refuse_lapsed_hold(booking: Booking, now: datetime) -> None:
    expires = booking.hold_expires_at
    if booking.status not in HOLD_STATUSES or expires is None or expires > now:
        return
    if booking.status == "pending_payment":
        raise Conflict("This hold has expired; book the slot again.", code="hold_expired")
    raise Conflict("The approval window has passed.", code="approval_expired")


async def decide_approval(
    session: AsyncSession,
    tutor: User,
    booking_id: uuid.UUID,
    approve: bool,
    reason: str | None,
    now: datetime,
) -> Booking:
    await cross_users(session)  # a decline gives the student's payment back
    booking, _ = await _locked(session, tutor, booking_id)
    if tutor.id != booking.tutor_id and tutor.role != "admin":
        raise NotFound("No such booking.", code="booking_not_found")
    if booking.status != "pending_approval":
        raise Conflict("This booking is not waiting for approval.", code="not_pending_approval")
    if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
        raise Conflict("The approval window has passed.", code="approval_expired")
    if approve:
        booking.status = "confirmed"
        booking.hold_expires_at = None
    else:
        booking.status = "declined"
        booking.hold_expires_at = None
        booking.canceled_by = "tutor"
        booking.canceled_at = now
        booking.cancellation_reason = reason
        booking.refund_due_cents = refund_due(booking, "tutor", now)
    booking.sequence += 1
    await session.flush()
    if approve:
        await refresh_slot(session, booking.slot_id)
    else:
        await free_seat(session, booking.slot_id)
    action = "booking.approve" if approve else "booking.decline"
    await audit.record(session, tutor.id, action, "booking", booking.id, {"status": booking.status})
    await schedule_calendar_sync(session, booking.id)
    return booking


async def list_bookings(
    session: AsyncSession, actor: User, status: str | None, page: PageRequest
) -> tuple[list[Booking], str | None]:
    """A page of the actor's bookings, as student or tutor, by start time."""
    query = select(Booking).where((Booking.student_id == actor.id) | (Booking.tutor_id == actor.id))
    if status is not None:
        query = query.where(Booking.status == status)
    keyset = after(
        (Booking.start_at.expression, Booking.id.expression), page.key(datetime, uuid.UUID)
    )
    if keyset is not None:
        query = query.where(keyset)
    query = query.order_by(Booking.start_at, Booking.id).limit(page.limit + 1)
    rows = (await session.scalars(query)).all()
    return page.of(rows, lambda row: (row.start_at, row.id))


async def update_booking(
    session: AsyncSession,
    actor: User,
    booking_id: uuid.UUID,
    changes: dict[str, str | None],
) -> Booking:
    """Each party writes their own notes; the tutor also sets the join link.

    Notes and the link touch no cap, seat or slot, so only the booking's row is locked, not the
    tutor's schedule (which a student may not lock: row level security keeps that row the
    tutor's)."""
    await get_booking(session, actor, booking_id)
    booking = await session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    assert booking is not None
    party = _party(actor, booking)
    if party == "admin":
        raise Forbidden("Only the booking's student and tutor write its notes.", code="party_only")
    if "join_link" in changes and party == "student":
        raise Forbidden("Only the tutor sets the join link.", code="tutor_only_field")
    before = {
        "student_notes": booking.student_notes,
        "tutor_notes": booking.tutor_notes,
        "join_link": booking.join_link,
    }
    if "notes" in changes:
        if party == "student":
            booking.student_notes = changes["notes"]
        else:
            booking.tutor_notes = changes["notes"]
    if "join_link" in changes and changes["join_link"] != booking.join_link:
        booking.join_link = changes["join_link"]
        booking.sequence += 1  # attendees' calendars should pick up the new location
        await schedule_calendar_sync(session, booking.id)
    await session.flush()
    after = {
        "student_notes": booking.student_notes,
        "tutor_notes": booking.tutor_notes,
        "join_link": booking.join_link,
    }
    await audit.record(
        session, actor.id, "booking.update", "booking", booking.id, audit.changes(before, after)
    )
    return booking
