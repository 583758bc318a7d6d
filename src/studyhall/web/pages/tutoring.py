"""The student's tutoring journey: find a tutor, see their open slots in your own time zone,
book and pay (a hosted checkout is a link to follow), see your bookings, cancel under the
stated policy, take the ``.ics`` home.

Booking runs through the same function as ``POST /api/v1/bookings`` (short transactions around
the payment provider, an idempotency key per form), cancelling through the same service.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from studyhall.accounts import service as profiles
from studyhall.billing.config import billing_settings
from studyhall.db.deps import Session, get_database
from studyhall.kit.errors import NotFound, Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.scheduling import service as scheduling
from studyhall.scheduling.schemas import BookingCreate
from studyhall.scheduling.service import ListedSlot
from studyhall.web.deps import DetachedMemberPage, MemberPage, Page
from studyhall.web.messages import notice
from studyhall.web.pages.google_calendar import connection_context
from studyhall.web.pages.reviews import public_reviews, review_of_booking, review_state
from studyhall.web.rendering import Visit, continue_to_payment, render

router = APIRouter()

SLOT_DAYS = 14
SLOT_PAGE = 500
OPEN_STATUSES = frozenset({"pending_payment", "pending_approval", "confirmed"})
Notice = Annotated[str | None, Query(alias="notice", max_length=40)]


def _cents(value: str | None) -> int | None:
    """A price typed in whole currency units ("25" or "25.50") as minor units."""
    if not value:
        return None
    try:
        return round(float(value) * 100)
    except ValueError:
        return None


@router.get("/tutors", include_in_schema=False)
async def find_tutors(
    page: Page,
    session: Session,
    subject: Annotated[str | None, Query(max_length=60)] = None,
    max_price: Annotated[str | None, Query(max_length=12)] = None,
    min_rating: Annotated[str | None, Query(max_length=4)] = None,
) -> Response:
    rating = float(min_rating) if min_rating and min_rating.replace(".", "", 1).isdigit() else None
    flt = profiles.DirectoryFilter(
        subject=subject.strip().lower() if subject and subject.strip() else None,
        max_price_cents=_cents(max_price),
        min_rating=None if rating is None else Decimal(str(min(rating, 5))),
    )
    rows, _ = await profiles.directory(session, flt, 50, None)
    return render(
        page,
        "tutors.html",
        tutors=[{"profile": profile, "user": user} for profile, user in rows],
        filters={
            "subject": subject or "",
            "max_price": max_price or "",
            "min_rating": min_rating or "",
        },
    )


@dataclass(frozen=True)
class ShownSlot:
    """A slot as the profile lists it, its words made once in Python: a fortnight lists
    hundreds, and formatting each inside the template cost more than the page's queries."""

    id: uuid.UUID
    times: str
    what: str
    book_label: str


def _days(
    page: Visit, slots: list[ListedSlot], offerings: dict[uuid.UUID, Any]
) -> list[tuple[str, list[ShownSlot]]]:
    viewer = page.viewer
    book = viewer.gettext("Book %(time)s on %(day)s")
    what = {
        key: f" · {offering.title} · {viewer.money(offering.price_cents, offering.currency)}"
        for key, offering in offerings.items()
    }
    by_day: dict[date, list[ListedSlot]] = defaultdict(list)
    for slot in slots:
        if slot.status == "open" and slot.seats_taken < slot.capacity:
            by_day[slot.start_at.astimezone(viewer.zone).date()].append(slot)
    days = []
    for day in sorted(by_day):
        label = viewer.date(day, "full")
        shown = []
        for slot in by_day[day]:
            starts = viewer.time(slot.start_at)
            shown.append(
                ShownSlot(
                    id=slot.id,
                    times=f"{starts}\N{EN DASH}{viewer.time(slot.end_at)}",
                    what=what.get(slot.offering_id, ""),
                    book_label=book % {"time": starts, "day": label},
                )
            )
        days.append((label, shown))
    return days


@router.get("/tutors/{tutor_id}", include_in_schema=False)
async def tutor_profile(tutor_id: uuid.UUID, page: Page, session: Session) -> Response:
    rows, _ = await profiles.directory(
        session, profiles.DirectoryFilter(), 1, None, user_id=tutor_id
    )
    if not rows:
        raise NotFound("No such tutor.", code="not_found")
    profile, tutor = rows[0]
    offerings, _ = await scheduling.list_offerings(
        session, tutor_id, None, PageRequest(limit=50, cursor=None)
    )
    now = scheduling.utcnow()
    # The profile shows the first page of the coming fortnight; the slot list says when more
    # follow rather than cutting it silently.
    slots, more = await scheduling.list_slots(
        session,
        tutor_id=tutor_id,
        offering_id=None,
        range_start=now,
        range_end=now + timedelta(days=SLOT_DAYS),
        zone=page.viewer.zone,
        now=now,
        page=PageRequest(limit=SLOT_PAGE, cursor=None),
    )
    reviews, more_reviews = await public_reviews(session, tutor_id)
    return render(
        page,
        "tutor.html",
        reviews=reviews,
        more_reviews=more_reviews,
        profile=profile,
        tutor=tutor,
        days=_days(page, slots, {offering.id: offering for offering in offerings}),
        more_slots=more is not None,
        slot_page=SLOT_PAGE,
        idempotency_key=str(uuid.uuid4()),
    )


@router.post("/bookings", include_in_schema=False)
async def book(request: Request, page: DetachedMemberPage) -> Response:
    assert page.user is not None
    form = await request.form()
    try:
        data = BookingCreate(slot_id=str(form.get("slot_id", "")), notes=None)
        key = str(uuid.UUID(str(form.get("idempotency_key", ""))))
    except (ValidationError, ValueError) as exc:
        raise Unprocessable("Choose a slot to book.", code="slot_required") from exc
    answered = await scheduling.book_and_pay(get_database(request), page.user, data, key)
    created: dict[str, Any] = json.loads(bytes(answered.body))
    checkout_url = (created.get("payment") or {}).get("checkout_url")
    if checkout_url:
        return continue_to_payment(page, checkout_url, "booking", f"/bookings/{created['id']}")
    return RedirectResponse(f"/bookings/{created['id']}?notice=booked", status_code=303)


async def _details(page: Visit, session: Session, booking_id: uuid.UUID) -> dict[str, Any]:
    assert page.user is not None
    return await scheduling.get_booking_details(session, page.user, booking_id)


@router.get("/bookings", include_in_schema=False)
async def my_bookings(page: MemberPage, session: Session, notice_key: Notice = None) -> Response:
    assert page.user is not None
    now = scheduling.utcnow()
    bookings, _ = await scheduling.list_bookings(
        session, page.user, None, PageRequest(limit=50, cursor=None)
    )
    details = [await _details(page, session, booking.id) for booking in bookings]
    upcoming = [row for row in details if row["end_at"] > now and row["status"] in OPEN_STATUSES]
    earlier = [row for row in details if row not in upcoming]
    totals = None
    if page.user.role == "student":
        totals = await scheduling.learner_totals(session, page.user.id)
    return render(
        page,
        "bookings.html",
        upcoming=upcoming,
        earlier=list(reversed(earlier)),
        totals=totals,
        notice=notice(page.viewer, notice_key),
    )


@router.get("/bookings/{booking_id}", include_in_schema=False)
async def booking_page(
    booking_id: uuid.UUID, page: MemberPage, session: Session, notice_key: Notice = None
) -> Response:
    assert page.user is not None
    row = await _details(page, session, booking_id)
    now = scheduling.utcnow()
    cancellable = row["status"] in OPEN_STATUSES and row["start_at"] > now
    return render(
        page,
        "booking.html",
        booking=row,
        is_student=row["student_id"] == page.user.id,
        cancellable=cancellable,
        other_slots=await _other_slots(page, session, row) if cancellable else [],
        manual_payments=billing_settings().default_provider == "manual",
        notice=notice(page.viewer, notice_key),
        **review_state(await review_of_booking(session, booking_id), page.user.id, now),
    )


RESCHEDULE_CHOICES = 10


async def _other_slots(page: Visit, session: Session, row: dict[str, Any]) -> list[ListedSlot]:
    """Open slots of the same offering in the coming fortnight, the booking's own left out."""
    now = scheduling.utcnow()
    slots, _ = await scheduling.list_slots(
        session,
        tutor_id=None,
        offering_id=row["offering_id"],
        range_start=now,
        range_end=now + timedelta(days=SLOT_DAYS),
        zone=page.viewer.zone,
        now=now,
        page=PageRequest(limit=SLOT_PAGE, cursor=None),
    )
    open_slots = [
        slot
        for slot in slots
        if slot.id != row["slot_id"] and slot.status == "open" and slot.seats_taken < slot.capacity
    ]
    return open_slots[:RESCHEDULE_CHOICES]


@router.post("/bookings/{booking_id}/reschedule", include_in_schema=False)
async def reschedule(
    booking_id: uuid.UUID, request: Request, page: MemberPage, session: Session
) -> Response:
    assert page.user is not None
    form = await request.form()
    try:
        slot_id = uuid.UUID(str(form.get("slot_id", "")))
    except ValueError as exc:
        raise Unprocessable("Choose a slot to book.", code="slot_required") from exc
    await scheduling.reschedule(session, page.user, booking_id, slot_id, scheduling.utcnow())
    return RedirectResponse(f"/bookings/{booking_id}?notice=moved", status_code=303)


@router.get("/calendar", include_in_schema=False)
async def calendar_page(page: MemberPage, session: Session, notice_key: Notice = None) -> Response:
    return await _calendar(page, session, None, notice(page.viewer, notice_key))


@router.post("/calendar/feed", include_in_schema=False)
async def create_feed(request: Request, page: MemberPage, session: Session) -> Response:
    """The address is shown once, on this answer: only its hash is stored."""
    assert page.user is not None
    token = await scheduling.create_feed(session, page.user)
    url = scheduling.feed_url(request.app.state.settings, token)
    return await _calendar(page, session, url, None)


@router.post("/calendar/feed/revoke", include_in_schema=False)
async def revoke_feed(page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    await scheduling.revoke_feeds(session, page.user)
    return await _calendar(page, session, None, notice(page.viewer, "feed_revoked"))


async def _calendar(
    page: Visit, session: AsyncSession, feed_url: str | None, shown: str | None
) -> Response:
    """The feed (its link only on the answer that made it) and, for a student, their own
    Google Calendar connection (a tutor's has its page under /teach)."""
    assert page.user is not None
    google = await connection_context(session, page.user.id)
    return render(page, "calendar.html", feed_url=feed_url, notice=shown, **google)


@router.post("/bookings/{booking_id}/cancel", include_in_schema=False)
async def cancel(
    booking_id: uuid.UUID, request: Request, page: MemberPage, session: Session
) -> Response:
    assert page.user is not None
    form = await request.form()
    reason = str(form.get("reason", "")).strip()[:500] or None
    await scheduling.cancel(session, page.user, booking_id, reason, scheduling.utcnow())
    return RedirectResponse(f"/bookings/{booking_id}?notice=canceled", status_code=303)


@router.get("/bookings/{booking_id}/calendar.ics", include_in_schema=False)
async def booking_calendar(booking_id: uuid.UUID, page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    await scheduling.get_booking(session, page.user, booking_id)
    return Response(
        await scheduling.booking_ics(session, booking_id, page.user),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="studyhall-booking.ics"'},
    )
