"""Bookings paid through billing, end to end over HTTP with the manual provider."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from studyhall.billing.service import ledger
from studyhall.db.engine import Database
from tests.scheduling.conftest import (
    API,
    MarketFactory,
    Person,
    book,
    make_admin,
    rows,
    scalar,
    set_settings,
    sign_up,
    use_billing,
)

PRICE = 2500  # 25 credits at the default 100 cents per credit


def later_than(slots: list[dict[str, Any]], hours: int) -> list[str]:
    edge = datetime.now(UTC) + timedelta(hours=hours)
    return [s["id"] for s in slots if datetime.fromisoformat(s["start_at"]) > edge]


async def grant(owner_db: Database, user: Person, credits: int) -> None:
    async with owner_db.transaction() as session:
        await ledger.post(session, user.id, credits, "manual")


async def payment_row(owner_db: Database, booking_id: str) -> tuple[Any, ...]:
    found = await rows(
        owner_db,
        "SELECT status, amount_cents, amount_refunded_cents, purpose, provider FROM payments "
        "WHERE purpose_id = :id",
        id=booking_id,
    )
    assert len(found) == 1
    return tuple(found[0])


async def booking_row(owner_db: Database, booking_id: str) -> tuple[Any, ...]:
    found = await rows(
        owner_db,
        "SELECT status, payment_status, payment_method, amount_captured_cents, "
        "amount_refunded_cents, refund_due_cents FROM bookings WHERE id = :id",
        id=booking_id,
    )
    return tuple(found[0])


async def test_success_confirms_and_answers_how_to_pay(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    use_billing(manual_auto_succeed=True)
    m = await market(price_cents=PRICE)
    student = await sign_up(client)
    slot_id = m.open_slots[0]["id"]
    response = await book(client, student, slot_id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "confirmed"
    payment = body["payment"]
    assert (payment["provider"], payment["status"], payment["amount_cents"]) == (
        "manual",
        "succeeded",
        PRICE,
    )
    assert (payment["client_secret"], payment["checkout_url"], payment["payment_key"]) == (
        None,
        None,
        None,
    )
    assert await payment_row(owner_db, body["id"]) == ("succeeded", PRICE, 0, "booking", "manual")
    assert await booking_row(owner_db, body["id"]) == (
        "confirmed",
        "captured",
        "provider",
        PRICE,
        0,
        0,
    )
    assert await scalar(owner_db, "SELECT status FROM slots WHERE id = :id", id=slot_id) == "booked"


async def test_failure_releases_the_slot(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(price_cents=PRICE)
    student, admin = await sign_up(client), await make_admin(client, owner_db)
    slot_id = m.open_slots[0]["id"]
    body = (await book(client, student, slot_id)).json()
    assert (body["status"], body["payment"]["status"]) == ("pending_payment", "pending")
    assert await scalar(owner_db, "SELECT status FROM slots WHERE id = :id", id=slot_id) == "held"
    failed = await client.post(
        f"{API}/billing/admin/payments/{body['payment']['payment_id']}/mark-failed",
        json={"note": "card declined"},
        headers=admin.headers,
    )
    assert failed.status_code == 200, failed.text
    assert await rows(
        owner_db, "SELECT status, cancellation_reason FROM bookings WHERE id = :id", id=body["id"]
    ) == [("canceled", "payment_failed")]
    assert await rows(
        owner_db, "SELECT status, seats_taken FROM slots WHERE id = :id", id=slot_id
    ) == [("open", 0)]
    other = await sign_up(client)
    assert (await book(client, other, slot_id)).status_code == 201


async def test_late_success_is_refunded_automatically(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(price_cents=PRICE)
    student, admin = await sign_up(client), await make_admin(client, owner_db)
    slot_id = m.open_slots[0]["id"]
    body = (await book(client, student, slot_id)).json()
    await rows(
        owner_db,
        "UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = :id "
        "RETURNING id",
        id=body["id"],
    )
    paid = await client.post(
        f"{API}/billing/admin/payments/{body['payment']['payment_id']}/mark-paid",
        json={},
        headers=admin.headers,
    )
    assert paid.status_code == 200, paid.text
    assert await payment_row(owner_db, body["id"]) == (
        "refunded",
        PRICE,
        PRICE,
        "booking",
        "manual",
    )
    assert await booking_row(owner_db, body["id"]) == (
        "canceled",
        "refunded",
        "provider",
        PRICE,
        PRICE,
        0,
    )
    assert await rows(
        owner_db,
        "SELECT r.amount_cents, r.status, r.reason FROM refunds r JOIN payments p "
        "ON p.id = r.payment_id WHERE p.purpose_id = :id",
        id=body["id"],
    ) == [(PRICE, "succeeded", "hold_expired")]
    assert await rows(
        owner_db, "SELECT status, seats_taken FROM slots WHERE id = :id", id=slot_id
    ) == [("open", 0)]


async def test_credits_pay_atomically_and_never_overdraw(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(price_cents=PRICE)
    student = await sign_up(client)
    await grant(owner_db, student, 30)
    first = await book(client, student, m.open_slots[0]["id"], pay_with="credits")
    assert first.status_code == 201, first.text
    assert first.json()["payment"]["credits_spent"] == 25
    assert await booking_row(owner_db, first.json()["id"]) == (
        "confirmed",
        "captured",
        "credits",
        PRICE,
        0,
        0,
    )
    denied = await book(client, student, m.open_slots[1]["id"], pay_with="credits")
    assert (denied.status_code, denied.json()["code"]) == (402, "insufficient_credits")
    assert await scalar(owner_db, "SELECT count(*) FROM bookings") == 1
    assert (
        await scalar(
            owner_db, "SELECT credit_balance FROM student_profiles WHERE user_id = :u", u=student.id
        )
        == 5
    )
    assert (
        await scalar(
            owner_db, "SELECT seats_taken FROM slots WHERE id = :id", id=m.open_slots[1]["id"]
        )
        == 0
    )

    # Concurrent: 75 credits pay for exactly three of eight simultaneous bookings.
    rich = await sign_up(client)
    await grant(owner_db, rich, 75)
    targets = m.open_slots[2:10]
    answers = await asyncio.gather(
        *(book(client, rich, s["id"], pay_with="credits") for s in targets)
    )
    assert sorted(a.status_code for a in answers) == [201] * 3 + [402] * 5
    assert await rows(
        owner_db,
        "SELECT p.credit_balance, (SELECT sum(delta) FROM credit_ledger WHERE user_id = :u), "
        "(SELECT min(balance_after) FROM credit_ledger WHERE user_id = :u), "
        "(SELECT count(*) FROM bookings WHERE student_id = :u) "
        "FROM student_profiles p WHERE p.user_id = :u",
        u=rich.id,
    ) == [(0, 0, 0, 3)]


async def test_cancellation_refunds_exactly_refund_due(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    use_billing(manual_auto_succeed=True)
    m = await market(price_cents=PRICE)
    # Every cancellation by the student is "late": half back.
    await set_settings(client, m.tutor, full_refund_notice_hours=1440, late_refund_percent=50)
    ahead = later_than(m.open_slots, 3)
    student = await sign_up(client)
    await grant(owner_db, student, 25)

    paid = (await book(client, student, ahead[0])).json()
    canceled = await client.post(
        f"{API}/bookings/{paid['id']}/cancel", json={}, headers=student.headers
    )
    assert canceled.status_code == 200, canceled.text
    assert (canceled.json()["amount_refunded_cents"], canceled.json()["refund_due_cents"]) == (
        1250,
        0,
    )
    assert await payment_row(owner_db, paid["id"]) == (
        "succeeded",
        PRICE,
        1250,
        "booking",
        "manual",
    )
    assert await booking_row(owner_db, paid["id"]) == (
        "canceled",
        "captured",
        "provider",
        PRICE,
        1250,
        0,
    )

    by_tutor = (await book(client, student, ahead[1])).json()
    response = await client.post(
        f"{API}/bookings/{by_tutor['id']}/cancel", json={}, headers=m.tutor.headers
    )
    assert response.status_code == 200
    assert await payment_row(owner_db, by_tutor["id"]) == (
        "refunded",
        PRICE,
        PRICE,
        "booking",
        "manual",
    )
    assert (await booking_row(owner_db, by_tutor["id"]))[1:5] == (
        "refunded",
        "provider",
        PRICE,
        PRICE,
    )

    credit = (await book(client, student, ahead[2], pay_with="credits")).json()
    await client.post(f"{API}/bookings/{credit['id']}/cancel", json={}, headers=student.headers)
    assert await rows(
        owner_db,
        "SELECT delta, reason FROM credit_ledger WHERE user_id = :u ORDER BY seq",
        u=student.id,
    ) == [(25, "manual"), (-25, "booking"), (12, "refund")]
    assert await booking_row(owner_db, credit["id"]) == (
        "canceled",
        "captured",
        "credits",
        PRICE,
        1250,
        0,
    )


async def test_tutor_cancel_of_a_credit_booking_reverses_the_debit(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    m = await market(price_cents=PRICE)
    student = await sign_up(client)
    await grant(owner_db, student, 25)
    credit = (
        await book(client, student, later_than(m.open_slots, 3)[0], pay_with="credits")
    ).json()
    response = await client.post(
        f"{API}/bookings/{credit['id']}/cancel", json={}, headers=m.tutor.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["payment_status"] == "refunded"
    assert (
        await scalar(
            owner_db, "SELECT credit_balance FROM student_profiles WHERE user_id = :u", u=student.id
        )
        == 25
    )
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM credit_ledger WHERE booking_id = :b AND reverses_id IS NOT NULL",
            b=uuid.UUID(credit["id"]),
        )
        == 1
    )


async def test_decline_of_a_paid_approval_refunds_in_full(
    client: httpx.AsyncClient, owner_db: Database, market: MarketFactory
) -> None:
    use_billing(manual_auto_succeed=True)
    m = await market(price_cents=PRICE, requires_approval=True)
    student = await sign_up(client)
    body = (await book(client, student, m.open_slots[0]["id"])).json()
    assert (body["status"], body["payment"]["status"]) == ("pending_approval", "succeeded")
    declined = await client.post(
        f"{API}/bookings/{body['id']}/decline", json={"reason": "full"}, headers=m.tutor.headers
    )
    assert declined.status_code == 200, declined.text
    assert await payment_row(owner_db, body["id"]) == (
        "refunded",
        PRICE,
        PRICE,
        "booking",
        "manual",
    )
    assert await booking_row(owner_db, body["id"]) == (
        "declined",
        "refunded",
        "provider",
        PRICE,
        PRICE,
        0,
    )
    assert await rows(
        owner_db,
        "SELECT type, count(*) FROM notifications WHERE entity_id = :id GROUP BY type",
        id=uuid.UUID(body["id"]),
    ) == [("booking_cancellation", 4)]
