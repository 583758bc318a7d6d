"""A learner's totals after booking, paying, rescheduling, cancelling, refunds and completion."""

from __future__ import annotations

from typing import Any

import httpx

from studyhall.db.engine import Database
from studyhall.scheduling.jobs import complete_finished
from tests.scheduling.conftest import (
    API,
    MarketFactory,
    Person,
    book,
    create_offering,
    execute,
    run_jobs,
    set_settings,
    sign_up,
    slots,
    use_billing,
)
from tests.scheduling.test_earnings import ENDED


async def totals(client: httpx.AsyncClient, person: Person) -> tuple[int, dict[str, int]]:
    response = await client.get(f"{API}/me/learner-totals", headers=person.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body["total_sessions_booked"], body["total_spent_cents"]


async def test_totals_follow_booking_reschedule_cancellation_refund_and_completion(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    use_billing(manual_auto_succeed=True)
    m = await market(price_cents=3000)
    # Cancelling any of these slots is "late": half the price comes back.
    await set_settings(client, m.tutor, full_refund_notice_hours=1440, late_refund_percent=50)
    student = await sign_up(client)
    assert await totals(client, student) == (0, {})

    first = (await book(client, student, m.open_slots[0]["id"])).json()
    second = (await book(client, student, m.open_slots[2]["id"])).json()
    assert (first["status"], second["status"]) == ("confirmed", "confirmed")
    assert await totals(client, student) == (2, {"USD": 6000})
    # The tutor bought nothing.
    assert await totals(client, m.tutor) == (0, {})

    moved = await client.post(
        f"{API}/bookings/{second['id']}/reschedule",
        json={"slot_id": m.open_slots[4]["id"]},
        headers=student.headers,
    )
    assert moved.status_code == 200, moved.text
    assert await totals(client, student) == (2, {"USD": 6000})

    canceled = await client.post(
        f"{API}/bookings/{first['id']}/cancel", json={}, headers=student.headers
    )
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["amount_refunded_cents"] == 1500
    assert await totals(client, student) == (1, {"USD": 4500})

    await execute(owner_db, ENDED, id=second["id"], ago=1)
    assert await complete_finished() != []
    assert await totals(client, student) == (1, {"USD": 4500})


async def test_holds_free_sessions_and_currencies(
    client: httpx.AsyncClient, market: MarketFactory
) -> None:
    use_billing(manual_auto_succeed=False)
    m = await market(price_cents=2000)
    student = await sign_up(client)
    hold = (await book(client, student, m.open_slots[0]["id"])).json()
    assert hold["status"] == "pending_payment"
    assert await totals(client, student) == (0, {})

    free = await create_offering(client, m.tutor, price_cents=0, title="Free intro")
    euro = await create_offering(client, m.tutor, price_cents=4000, currency="EUR", title="EU")
    await run_jobs()
    free_slot = (await slots(client, offering_id=free["id"]))[3]
    use_billing(manual_auto_succeed=True)
    euro_slot = (await slots(client, offering_id=euro["id"]))[6]
    assert (await book(client, student, free_slot["id"])).json()["status"] == "confirmed"
    assert (await book(client, student, euro_slot["id"])).json()["status"] == "confirmed"
    assert await totals(client, student) == (2, {"EUR": 4000})

    anonymous = await client.get(f"{API}/me/learner-totals")
    assert anonymous.status_code == 401
