"""Creating, canceling and rescheduling a booking each emit their fact (``scheduling.events``)
once, inside the transaction that made the change, for subscribers in higher domains."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.kit import events
from studyhall.scheduling.events import BookingCanceled, BookingCreated, BookingRescheduled
from tests.scheduling.conftest import API, MarketFactory, book, sign_up

Fact = BookingCreated | BookingCanceled | BookingRescheduled


@pytest.fixture
def seen() -> Iterator[list[tuple[Fact, bool]]]:
    """Every booking fact emitted, with whether the emitting transaction was open."""
    facts: list[tuple[Fact, bool]] = []

    async def record(session: AsyncSession, fact: Fact) -> None:
        facts.append((fact, session.in_transaction()))

    kinds = (BookingCreated, BookingCanceled, BookingRescheduled)
    for kind in kinds:
        events.subscribe(kind, record)
    yield facts
    for kind in kinds:
        events._handlers[kind].remove(record)


async def test_each_booking_change_is_seen_once_by_a_subscriber(
    client: httpx.AsyncClient, market: MarketFactory, seen: list[tuple[Fact, bool]]
) -> None:
    m = await market()
    student = await sign_up(client)
    booked = await book(client, student, m.open_slots[0]["id"])
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    moved = await client.post(
        f"{API}/bookings/{booking['id']}/reschedule",
        json={"slot_id": m.open_slots[2]["id"]},
        headers=student.headers,
    )
    assert moved.status_code == 200, moved.text
    canceled = await client.post(f"{API}/bookings/{booking['id']}/cancel", headers=m.tutor.headers)
    assert canceled.status_code == 200, canceled.text

    booking_id = uuid.UUID(booking["id"])
    starts = {slot["id"]: datetime.fromisoformat(slot["start_at"]) for slot in m.open_slots}
    assert [type(fact) for fact, _ in seen] == [
        BookingCreated,
        BookingRescheduled,
        BookingCanceled,
    ]
    assert all(in_transaction for _, in_transaction in seen)
    created, rescheduled, cancellation = (fact for fact, _ in seen)
    assert created == BookingCreated(
        booking_id=booking_id,
        student_id=student.id,
        tutor_id=m.tutor.id,
        offering_id=uuid.UUID(m.offering["id"]),
        starts_at=starts[m.open_slots[0]["id"]],
        ends_at=datetime.fromisoformat(m.open_slots[0]["end_at"]),
        status=booking["status"],
    )
    assert rescheduled == BookingRescheduled(
        booking_id=booking_id,
        student_id=student.id,
        tutor_id=m.tutor.id,
        starts_at=starts[m.open_slots[2]["id"]],
        ends_at=datetime.fromisoformat(m.open_slots[2]["end_at"]),
        previous_starts_at=starts[m.open_slots[0]["id"]],
    )
    assert cancellation == BookingCanceled(
        booking_id=booking_id,
        student_id=student.id,
        tutor_id=m.tutor.id,
        canceled_by=m.tutor.id,
        reason=None,
    )


async def test_a_refused_change_emits_nothing(
    client: httpx.AsyncClient, market: MarketFactory, seen: list[tuple[Fact, bool]]
) -> None:
    m = await market()
    student = await sign_up(client)
    booking = (await book(client, student, m.open_slots[0]["id"])).json()
    seen.clear()
    own = await book(client, m.tutor, m.open_slots[2]["id"])
    assert (own.status_code, own.json()["code"]) == (422, "own_offering")
    same = await client.post(
        f"{API}/bookings/{booking['id']}/reschedule",
        json={"slot_id": m.open_slots[0]["id"]},
        headers=student.headers,
    )
    assert (same.status_code, same.json()["code"]) == (422, "same_slot")
    stranger = await sign_up(client)
    nosy = await client.post(f"{API}/bookings/{booking['id']}/cancel", headers=stranger.headers)
    assert nosy.status_code == 404
    assert seen == []
