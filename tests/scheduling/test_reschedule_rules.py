"""A reschedule is a booking: the new slot passes every check ``POST /bookings`` makes, and a
hold whose time is up (not yet swept) cannot be moved, so no seat is given back twice."""

from __future__ import annotations

from typing import Any

import httpx

from studyhall.db.engine import Database
from studyhall.scheduling.jobs import release_expired_holds
from tests.scheduling.conftest import (
    API,
    SEATS_MISMATCH_SQL,
    MarketFactory,
    Person,
    book,
    execute,
    rows,
    scalar,
    set_settings,
    sign_up,
)
from tests.scheduling.test_bookings import MORNING

TWO_MORNINGS = {**MORNING, "rrule": "FREQ=DAILY;COUNT=2"}
SEATS = "SELECT seats_taken, status FROM slots WHERE id = :id"


async def move(
    client: httpx.AsyncClient, person: Person, booking_id: str, slot_id: str
) -> httpx.Response:
    return await client.post(
        f"{API}/bookings/{booking_id}/reschedule", json={"slot_id": slot_id}, headers=person.headers
    )


async def test_a_capped_day_cannot_be_reached_by_rescheduling(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=TWO_MORNINGS, settings={"max_bookings_per_day": 2})
    day_one, day_two = m.open_slots[:3], m.open_slots[3:6]
    assert {s["start_at"][:10] for s in day_one} != {s["start_at"][:10] for s in day_two}
    a, b, c = [await sign_up(client) for _ in range(3)]
    assert (await book(client, a, day_one[0]["id"])).status_code == 201
    assert (await book(client, b, day_one[1]["id"])).status_code == 201
    later = (await book(client, c, day_two[0]["id"])).json()

    capped = await move(client, c, later["id"], day_one[2]["id"])
    assert (capped.status_code, capped.json()["code"]) == (409, "daily_limit_reached")
    assert await rows(
        owner_db, "SELECT slot_id::text FROM bookings WHERE id = :id", id=later["id"]
    ) == [(day_two[0]["id"],)]
    # Moving inside a day at its cap is fine: the booking is not counted twice.
    first = await scalar(
        owner_db, "SELECT id::text FROM bookings WHERE slot_id = :s", s=day_one[0]["id"]
    )
    assert (await move(client, a, first, day_one[2]["id"])).status_code == 200
    assert await scalar(owner_db, SEATS_MISMATCH_SQL) == 0


async def test_notice_and_horizon_apply_to_the_new_slot(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule={**MORNING, "rrule": "FREQ=DAILY;COUNT=5"})
    student = await sign_up(client)
    booking = (await book(client, student, m.open_slots[-1]["id"])).json()
    await set_settings(client, m.tutor, booking_horizon_days=2)
    far = await move(client, student, booking["id"], m.open_slots[-2]["id"])
    assert (far.status_code, far.json()["code"]) == (422, "beyond_horizon")
    await set_settings(client, m.tutor, booking_horizon_days=None, min_notice_minutes=3 * 24 * 60)
    soon = await move(client, student, booking["id"], m.open_slots[0]["id"])
    assert (soon.status_code, soon.json()["code"]) == (422, "inside_minimum_notice")
    assert await rows(
        owner_db, "SELECT slot_id::text FROM bookings WHERE id = :id", id=booking["id"]
    ) == [(m.open_slots[-1]["id"],)]


async def lapse(owner_db: Database, booking: dict[str, Any]) -> None:
    """The hold's time runs out; no sweep runs."""
    await execute(
        owner_db,
        "UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = :id",
        id=booking["id"],
    )


async def test_an_expired_hold_cannot_be_moved_from_a_one_seat_slot(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, price_cents=5000)
    old, new = m.open_slots[0]["id"], m.open_slots[2]["id"]
    student = await sign_up(client)
    hold = (await book(client, student, old)).json()
    await lapse(owner_db, hold)
    refused = await move(client, student, hold["id"], new)
    assert (refused.status_code, refused.json()["code"]) == (409, "hold_expired")
    assert await rows(
        owner_db, "SELECT status, slot_id::text FROM bookings WHERE id = :id", id=hold["id"]
    ) == [("pending_payment", old)]
    assert await rows(owner_db, SEATS, id=old) == [(1, "held")]
    assert await rows(owner_db, SEATS, id=new) == [(0, "open")]
    await release_expired_holds()
    assert await rows(owner_db, SEATS, id=old) == [(0, "open")]
    assert await scalar(owner_db, SEATS_MISMATCH_SQL) == 0


async def test_an_expired_hold_cannot_be_moved_from_a_shared_slot(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, price_cents=5000, max_participants=3)
    old, new = m.open_slots[0]["id"], m.open_slots[2]["id"]
    late, on_time = await sign_up(client), await sign_up(client)
    hold = (await book(client, late, old)).json()
    other = (await book(client, on_time, old)).json()
    await lapse(owner_db, hold)
    refused = await move(client, late, hold["id"], new)
    assert (refused.status_code, refused.json()["code"]) == (409, "hold_expired")
    assert await rows(owner_db, SEATS, id=old) == [(2, "open")]
    assert await rows(owner_db, SEATS, id=new) == [(0, "open")]
    assert await scalar(owner_db, SEATS_MISMATCH_SQL) == 0
    # The hold still in time moves as before.
    moved = await move(client, on_time, other["id"], new)
    assert moved.status_code == 200, moved.text
    assert await scalar(owner_db, SEATS_MISMATCH_SQL) == 0


async def test_an_approval_past_its_window_cannot_be_moved(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(rule=MORNING, requires_approval=True)
    student = await sign_up(client)
    waiting = (await book(client, student, m.open_slots[0]["id"])).json()
    assert waiting["status"] == "pending_approval"
    await lapse(owner_db, waiting)
    refused = await move(client, student, waiting["id"], m.open_slots[2]["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "approval_expired")
    assert await scalar(owner_db, SEATS_MISMATCH_SQL) == 0
