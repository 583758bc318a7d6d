"""HTTP for bookings and calendars."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.deps import CurrentUser, CurrentUserDetached, TutorOrAdmin
from studyhall.accounts.models import User
from studyhall.billing import service as billing
from studyhall.db.deps import AppDatabase, Session
from studyhall.db.engine import Database
from studyhall.kit import idempotency
from studyhall.kit.inputs import MAX_OFFSET
from studyhall.scheduling import payment, service
from studyhall.scheduling.models import Booking
from studyhall.scheduling.schemas import (
    BookingCreate,
    BookingCreated,
    BookingDetails,
    BookingPayment,
    BookingRead,
    BookingUpdate,
    CancelRequest,
    DeclineRequest,
    FeedCreated,
    RescheduleRequest,
)
from studyhall.scheduling.service import ics
from studyhall.scheduling.service.common import utcnow

router = APIRouter(tags=["bookings"])

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
    summary="Book a slot (send an Idempotency-Key to retry safely); paid: returns how to pay",
)
async def create_booking(
    data: BookingCreate,
    user: CurrentUserDetached,
    database: AppDatabase,
    key: Annotated[str | None, Depends(idempotency.idempotency_key_header)],
) -> Any:
    return await book_and_pay(database, user, data, key)


async def book_and_pay(
    database: Database, user: User, data: BookingCreate, key: str | None
) -> JSONResponse:
    """Book and open the payment in short transactions around the provider call; the JSON
    answer (a ``BookingCreated``) is stored for the idempotency key. The web app books with it
    too, so a page and an API client get one behaviour."""

    async def prepare(session: AsyncSession) -> billing.Intent:
        done = await payment.book(
            session,
            user,
            data.slot_id,
            data.notes,
            utcnow(),
            pay_with=data.pay_with,
            provider=data.provider,
        )
        payment_id = None if done.payment is None else done.payment.id
        return billing.Intent(status.HTTP_201_CREATED, done.booking.id, payment_id)

    async def answer(
        session: AsyncSession, intent: billing.Intent, opened: billing.Started | None
    ) -> BookingCreated:
        booking = await service.get_booking(session, user, intent.subject_id)
        body = BookingCreated.model_validate(booking)
        body.payment = _payment_view(booking, opened)
        return body

    return await billing.pay_once(
        database,
        user_id=user.id,
        key=key,
        scope="POST /bookings",
        payload=data,
        prepare=prepare,
        answer=answer,
    )


def _payment_view(booking: Booking, opened: billing.Started | None) -> BookingPayment | None:
    if opened is not None:
        checkout = opened.checkout
        return BookingPayment(
            payment_id=opened.payment.id,
            provider=opened.payment.provider,
            status=opened.payment.status,
            amount_cents=opened.payment.amount_cents,
            currency=opened.payment.currency,
            client_secret=checkout.client_secret,
            checkout_url=checkout.checkout_url,
            payment_key=checkout.payment_key,
        )
    if booking.payment_method == "credits":
        return BookingPayment(
            status="succeeded",
            amount_cents=booking.price_cents,
            currency=booking.currency,
            credits_spent=payment.credits_for(booking.price_cents),
        )
    return None


@router.get("/bookings", summary="Your bookings, as student or tutor")
async def list_bookings(
    user: CurrentUser,
    session: Session,
    status_filter: Annotated[BookingStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[BookingRead]:
    rows = await service.list_bookings(session, user, status_filter, limit, offset)
    return [BookingRead.model_validate(row) for row in rows]


@router.get("/bookings/{booking_id}", summary="One booking with offering, tutor and student")
async def get_booking(booking_id: uuid.UUID, user: CurrentUser, session: Session) -> BookingDetails:
    return BookingDetails.model_validate(
        await service.get_booking_details(session, user, booking_id)
    )


@router.patch("/bookings/{booking_id}", summary="Your notes; the tutor's join link")
async def update_booking(
    booking_id: uuid.UUID, data: BookingUpdate, user: CurrentUser, session: Session
) -> BookingRead:
    changes = data.model_dump(exclude_unset=True, mode="json")
    booking = await service.update_booking(session, user, booking_id, changes)
    return BookingRead.model_validate(booking)


@router.post("/bookings/{booking_id}/cancel", summary="Cancel (student or tutor)")
async def cancel_booking(
    booking_id: uuid.UUID, data: CancelRequest, user: CurrentUser, session: Session
) -> BookingRead:
    booking = await payment.cancel(session, user, booking_id, data.reason, utcnow())
    return BookingRead.model_validate(booking)


@router.post("/bookings/{booking_id}/reschedule", summary="Move to another slot of the offering")
async def reschedule_booking(
    booking_id: uuid.UUID, data: RescheduleRequest, user: CurrentUser, session: Session
) -> BookingRead:
    booking = await payment.reschedule(session, user, booking_id, data.slot_id, utcnow())
    return BookingRead.model_validate(booking)


@router.post("/bookings/{booking_id}/approve", summary="Approve a booking (tutor)")
async def approve_booking(
    booking_id: uuid.UUID, tutor: TutorOrAdmin, session: Session
) -> BookingRead:
    return BookingRead.model_validate(await payment.approve(session, tutor, booking_id, utcnow()))


@router.post("/bookings/{booking_id}/decline", summary="Decline a booking (tutor)")
async def decline_booking(
    booking_id: uuid.UUID, data: DeclineRequest, tutor: TutorOrAdmin, session: Session
) -> BookingRead:
    booking = await payment.decline(session, tutor, booking_id, data.reason, utcnow())
    return BookingRead.model_validate(booking)


@router.get("/bookings/{booking_id}/calendar.ics", summary="The booking as an iCalendar file")
async def booking_calendar(booking_id: uuid.UUID, user: CurrentUser, session: Session) -> Response:
    await service.get_booking(session, user, booking_id)
    return Response(await ics.booking_ics(session, booking_id, user), media_type=ICS)


@router.post(
    "/calendar/feed",
    status_code=status.HTTP_201_CREATED,
    summary="A new private ICS feed URL (revokes the previous one)",
)
async def create_feed(request: Request, user: CurrentUser, session: Session) -> FeedCreated:
    token = await ics.create_feed(session, user)
    return FeedCreated(url=ics.feed_url(request.app.state.settings, token), token=token)


@router.delete(
    "/calendar/feed", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke your ICS feed"
)
async def revoke_feed(user: CurrentUser, session: Session) -> Response:
    await ics.revoke_feeds(session, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/calendar/feeds/{token}.ics", summary="A private ICS feed (public; the URL is secret)")
async def read_feed(token: str, session: Session) -> Response:
    owner = await ics.feed_owner(session, token)
    return Response(await ics.feed_ics(session, owner), media_type=ICS)
