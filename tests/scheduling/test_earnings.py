"""Tutor earnings follow completed bookings, once per booking."""

from __future__ import annotations

import httpx

from studyhall.db.engine import Database
from studyhall.scheduling.jobs import complete_finished
from tests.scheduling.conftest import (
    API,
    MarketFactory,
    Person,
    book,
    execute,
    rows,
    set_settings,
    sign_up,
    use_billing,
)

# Moves a booking into the past, as if its hour had been lived through.
ENDED = """
UPDATE bookings SET start_at = now() - make_interval(hours => :ago + 1),
    end_at = now() - make_interval(hours => :ago),
    blocked_range = tstzrange(now() - make_interval(hours => :ago + 1),
                              now() - make_interval(hours => :ago))
WHERE id = :id
"""


async def totals(client: httpx.AsyncClient, tutor: Person) -> tuple[int, int]:
    response = await client.get(f"{API}/me/tutor-profile", headers=tutor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["total_earnings_cents"], body["total_sessions"]


async def test_completion_records_earnings_once(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    use_billing(manual_auto_succeed=True, platform_fee_rate=0.15)
    m = await market(price_cents=3333)
    await set_settings(client, m.tutor, full_refund_notice_hours=1440, late_refund_percent=50)
    student = await sign_up(client)
    paid = (await book(client, student, m.open_slots[0]["id"])).json()
    refunded = (await book(client, student, m.open_slots[1]["id"])).json()
    canceled = (await book(client, student, m.open_slots[2]["id"])).json()
    assert (paid["status"], refunded["status"]) == ("confirmed", "confirmed")
    # A partial refund already made lowers what the tutor earns: 3333 - 1000.
    await execute(
        owner_db,
        "UPDATE bookings SET amount_refunded_cents = 1000 WHERE id = :id",
        id=refunded["id"],
    )
    cancel = await client.post(
        f"{API}/bookings/{canceled['id']}/cancel", json={}, headers=student.headers
    )
    assert cancel.status_code == 200
    for ago, booking in enumerate((paid, refunded), start=1):
        await execute(owner_db, ENDED, id=booking["id"], ago=2 * ago)
    assert await totals(client, m.tutor) == (0, 0)

    done = await complete_finished()
    assert sorted(map(str, done)) == sorted([paid["id"], refunded["id"]])
    # 3333 - round(3333 * 0.15 = 499.95 -> 500) = 2833; 2333 - round(349.95 -> 350) = 1983.
    assert await totals(client, m.tutor) == (2833 + 1983, 2)
    assert await complete_finished() == []
    assert await totals(client, m.tutor) == (2833 + 1983, 2)
    assert await rows(
        owner_db, "SELECT status FROM bookings WHERE id = :id", id=canceled["id"]
    ) == [("canceled",)]


async def test_free_completed_booking_counts_a_session_without_money(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market()
    student = await sign_up(client)
    free = (await book(client, student, m.open_slots[0]["id"])).json()
    await execute(owner_db, ENDED, id=free["id"], ago=1)
    await complete_finished()
    await complete_finished()
    assert await totals(client, m.tutor) == (0, 1)
