"""``studyhall demo``: the demo tutors get two offerings each, weekday availability and slots,
and a few past sessions with the demo students' reviews, which make their rating.

One tutor (``CALENDAR_TUTOR``) has busy times from a calendar: the demo links no Google account
(it has no Google credentials and calls nobody), so it records a free/busy answer shaped as
Google's ``/freeBusy`` returns it, read by the same parser and stored in the same cache a
connected tutor's refresh fills. Those times block the tutor's slots exactly as a dentist
appointment in a connected Google calendar would; the tutor's Google Calendar page still says
"not connected", which is true."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.demo import TUTORS
from studyhall.accounts.models import User
from studyhall.billing.models import Payment
from studyhall.config import Settings
from studyhall.scheduling.google.busy import busy_intervals
from studyhall.scheduling.google.busy import record as record_busy
from studyhall.scheduling.models import AvailabilityRuleRow, Booking, Offering, Review, Slot
from studyhall.scheduling.service.clock import utcnow
from studyhall.scheduling.service.earnings import record_earning
from studyhall.scheduling.service.materialize import materialize_tutor
from studyhall.scheduling.service.offerings import derive_short_description
from studyhall.scheduling.service.payments import PURPOSE
from studyhall.scheduling.service.reviews import refresh_tutor_rating
from studyhall.scheduling.service.tutor_settings import ensure_settings

# The tutor whose calendar's busy times the demo records.
CALENDAR_TUTOR = "kenji@demo.example.com"

OFFERINGS = (
    ("Algebra 1:1", "Linear equations, functions and graphs, at your pace.", 60, 25000, 1),
    ("Exam prep group", "Past papers in a small group, with worked solutions.", 90, 12000, 5),
)

# Past sessions the demo students took, with the stars and words they gave (days ago, student).
REVIEWS = {
    "tara@demo.example.com": (
        (30, "sam@demo.example.com", 5, "Tara made derivatives finally click."),
        (23, "noor@demo.example.com", 5, "Patient, clear, and well prepared."),
        (16, "sam@demo.example.com", 4, "Good session; we ran a little over."),
    ),
    "kenji@demo.example.com": (
        (28, "noor@demo.example.com", 5, "Great chemistry explanations."),
        (14, "sam@demo.example.com", 4, None),
    ),
}


async def load(session: AsyncSession, settings: Settings) -> list[str]:
    """Runs after the accounts demo, whose tutors it equips."""
    lines = []
    for email in TUTORS:
        tutor = await session.scalar(select(User).where(User.email == email))
        if tutor is None:
            continue
        slots = await _equip(session, tutor)
        reviews = await _past_sessions(session, tutor, REVIEWS[email])
        line = (
            f"scheduling: {email}: {len(OFFERINGS)} offerings, {slots} open slots (90 days), "
            f"{reviews} reviews"
        )
        if email == CALENDAR_TUTOR:
            busy = await _calendar_busy_times(session, tutor)
            line += f", {busy} busy times from a recorded calendar answer"
        lines.append(line)
    return lines


def calendar_answer(tutor: User, now: datetime) -> dict[str, object]:
    """What Google's free/busy would answer for the tutor's calendar: two appointments in their
    working hours, on the first two weekdays at least five days ahead (in their own zone)."""
    zone = ZoneInfo(tutor.timezone)
    day = now.astimezone(zone).date() + timedelta(days=5)
    busy: list[dict[str, str]] = []
    while len(busy) < 2:
        if day.weekday() < 5:
            start = datetime.combine(day, time(13), tzinfo=zone)
            busy.append(
                {
                    "start": start.astimezone(UTC).isoformat(),
                    "end": (start + timedelta(hours=2)).astimezone(UTC).isoformat(),
                }
            )
        day += timedelta(days=1)
    return {"kind": "calendar#freeBusy", "calendars": {"primary": {"busy": busy}}}


async def _calendar_busy_times(session: AsyncSession, tutor: User) -> int:
    now = utcnow()
    intervals = busy_intervals(calendar_answer(tutor, now), "primary", now)
    return await record_busy(session, tutor.id, intervals, now)


async def _equip(session: AsyncSession, tutor: User) -> int:
    await ensure_settings(session, tutor.id)
    existing = set(
        (await session.scalars(select(Offering.title).where(Offering.tutor_id == tutor.id))).all()
    )
    for title, description, minutes, price, seats in OFFERINGS:
        if title in existing:
            continue
        session.add(
            Offering(
                tutor_id=tutor.id,
                title=title,
                description=description,
                short_description=derive_short_description(description),
                topic_tags=["math"],
                duration_minutes=minutes,
                price_cents=price,
                currency="USD",
                max_participants=seats,
            )
        )
    has_rule = await session.scalar(
        select(AvailabilityRuleRow.id).where(AvailabilityRuleRow.tutor_id == tutor.id).limit(1)
    )
    if has_rule is None:
        session.add(
            AvailabilityRuleRow(
                tutor_id=tutor.id,
                timezone=tutor.timezone,
                start_date=date.today(),
                start_time=time(9),
                end_time=time(17),
                rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            )
        )
    await session.flush()
    made = await materialize_tutor(session, tutor.id, utcnow())
    return made.desired


async def _past_sessions(
    session: AsyncSession, tutor: User, reviews: tuple[tuple[int, str, int, str | None], ...]
) -> int:
    """Completed one-to-one sessions in the past, each reviewed; a second run adds nothing."""
    if await session.scalar(select(Review.id).where(Review.tutor_id == tutor.id).limit(1)):
        return 0
    offering = await session.scalar(
        select(Offering).where(Offering.tutor_id == tutor.id, Offering.max_participants == 1)
    )
    assert offering is not None
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    for days_ago, email, stars, words in reviews:
        student = await session.scalar(select(User).where(User.email == email))
        assert student is not None
        start = now - timedelta(days=days_ago)
        end = start + timedelta(minutes=offering.duration_minutes)
        slot = Slot(
            tutor_id=tutor.id,
            offering_id=offering.id,
            start_at=start,
            end_at=end,
            status="closed",
            capacity=1,
            seats_taken=0,
        )
        session.add(slot)
        await session.flush()
        booking = Booking(
            student_id=student.id,
            tutor_id=tutor.id,
            offering_id=offering.id,
            slot_id=slot.id,
            start_at=start,
            end_at=end,
            blocked_range=Range(start, end),
            status="completed",
            payment_method="provider",
            payment_status="captured",
            price_cents=offering.price_cents,
            amount_authorized_cents=offering.price_cents,
            amount_captured_cents=offering.price_cents,
            currency=offering.currency,
        )
        session.add(booking)
        await session.flush()
        await _paid_manually(session, booking, start)
        # What completing it records: the tutor's totals and payout entry.
        await record_earning(session, booking.id)
        session.add(
            Review(
                booking_id=booking.id,
                tutor_id=tutor.id,
                student_id=student.id,
                rating=stars,
                body=words,
                editable_until=end + timedelta(days=3),
            )
        )
    await session.flush()
    await refresh_tutor_rating(session, tutor.id)
    return len(reviews)


async def _paid_manually(session: AsyncSession, booking: Booking, paid_at: datetime) -> None:
    """The demo sessions were paid through the manual provider, as a deployment without a
    payment account takes money."""
    payment = Payment(
        user_id=booking.student_id,
        type="one_off",
        purpose=PURPOSE,
        purpose_id=booking.id,
        provider="manual",
        amount_cents=booking.price_cents,
        currency=booking.currency,
        status="succeeded",
        description="Demo session",
        succeeded_at=paid_at,
    )
    session.add(payment)
    await session.flush()
    booking.payment_ref = str(payment.id)
