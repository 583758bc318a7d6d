"""HTTP for bookings: book (and pay), read, annotate, cancel, move, approve, decline."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Response, status

from studyhall.accounts.deps import CurrentUser, CurrentUserDetached, TutorOrAdmin
from studyhall.db.deps import AppDatabase, Session
from studyhall.kit import idempotency
from studyhall.kit.paging import PageQuery
from studyhall.scheduling import service
from studyhall.scheduling.schemas import (
    BookingCreate,
    BookingCreated,
    BookingDetails,
    BookingPage,
    BookingRead,
    BookingUpdate,
    CancelRequest,
    DeclineRequest,
    RescheduleRequest,
)

router = APIRouter()

ICS = "text/calendar; charset=utf-8"
BookingStatus = Literal[
    "pending_payment",
    "pending_approval",
    "confirmed",
    "completed",
    "canceled",
    "declined",
    "refunded",
]


@router.post(
    "/bookings",
    status_code=status.HTTP_201_CREATED,
    response_model=BookingCreated,
    summary="Book a slot",
)
async def bookings_create(
    data: BookingCreate,
    user: CurrentUserDetached,
    database: AppDatabase,
    key: Annotated[str | None, Depends(idempotency.idempotency_key_header)],
) -> Any:
    """Hold a seat in the slot. A free offering is confirmed (or waits for the tutor's approval);
    a paid one is paid with credits at once, or through a provider: the answer then says how to
    pay, and the hold lasts until the payment arrives. The ``Idempotency-Key`` header is
    optional, as on every money-moving POST: a retry with the same key and body gets the
    byte-identical first answer, with the same key and another body 422."""
    return await service.book_and_pay(database, user, data, key)


@router.get("/bookings", summary="List your bookings")
async def bookings_list(
    user: CurrentUser,
    session: Session,
    page: PageQuery,
    status_filter: Annotated[BookingStatus | None, Query(alias="status")] = None,
) -> BookingPage:
    """Your bookings as student or tutor, by start time, optionally of one status."""
    rows, next_cursor = await service.list_bookings(session, user, status_filter, page)
    return BookingPage(
        items=[BookingRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.get("/bookings/{booking_id}", summary="Get one booking")
async def booking_get(booking_id: uuid.UUID, user: CurrentUser, session: Session) -> BookingDetails:
    """The booking with its offering, tutor and student names (its parties and admins)."""
    return BookingDetails.model_validate(
        await service.get_booking_details(session, user, booking_id)
    )


@router.patch("/bookings/{booking_id}", summary="Edit your notes or the join link")
async def booking_update(
    booking_id: uuid.UUID, data: BookingUpdate, user: CurrentUser, session: Session
) -> BookingRead:
    """Each party writes their own notes; the tutor also sets the join link."""
    changes = data.model_dump(exclude_unset=True, mode="json")
    booking = await service.update_booking(session, user, booking_id, changes)
    return BookingRead.model_validate(booking)


@router.post("/bookings/{booking_id}/cancel", summary="Cancel a booking")
async def booking_cancel(
    booking_id: uuid.UUID,
    user: CurrentUser,
    session: Session,
    data: Annotated[CancelRequest | None, Body()] = None,
) -> BookingRead:
    """The student or the tutor cancels before the start; what the cancellation policy owes goes
    back and the other party is told. The body (a reason) is optional."""
    reason = None if data is None else data.reason
    booking = await service.cancel(session, user, booking_id, reason, service.utcnow())
    return BookingRead.model_validate(booking)


@router.post("/bookings/{booking_id}/reschedule", summary="Move a booking to another slot")
async def booking_reschedule(
    booking_id: uuid.UUID, data: RescheduleRequest, user: CurrentUser, session: Session
) -> BookingRead:
    """Move to another slot of the same offering (same price, same payment); the new slot passes
    every check a new booking passes, and the other party is told."""
    booking = await service.reschedule(session, user, booking_id, data.slot_id, service.utcnow())
    return BookingRead.model_validate(booking)


@router.post("/bookings/{booking_id}/approve", summary="Approve a booking")
async def booking_approve(
    booking_id: uuid.UUID, tutor: TutorOrAdmin, session: Session
) -> BookingRead:
    """The tutor (or an admin) accepts a booking that waits for approval; takes no body."""
    booking = await service.approve(session, tutor, booking_id, service.utcnow())
    return BookingRead.model_validate(booking)


@router.post("/bookings/{booking_id}/decline", summary="Decline a booking")
async def booking_decline(
    booking_id: uuid.UUID,
    tutor: TutorOrAdmin,
    session: Session,
    data: Annotated[DeclineRequest | None, Body()] = None,
) -> BookingRead:
    """The tutor turns a waiting booking down; the student gets back what they paid and is told.
    The body (a reason) is optional."""
    reason = None if data is None else data.reason
    booking = await service.decline(session, tutor, booking_id, reason, service.utcnow())
    return BookingRead.model_validate(booking)


@router.get("/bookings/{booking_id}/calendar.ics", summary="Get a booking as an iCalendar file")
async def booking_calendar_get(
    booking_id: uuid.UUID, user: CurrentUser, session: Session
) -> Response:
    """The booking as a one-event ``.ics`` (its parties and admins), with the join link."""
    await service.get_booking(session, user, booking_id)
    return Response(await service.booking_ics(session, booking_id, user), media_type=ICS)
